package loadbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a server program under test.
type Server struct {
	Name string
	// Command builds the command line for a listen port.
	Command func(port int) *exec.Cmd
	// Ready is the request whose first success marks the end of start-up.
	Ready func(base string) Request
}

// Process is a running server.
type Process struct {
	cmd  *exec.Cmd
	Base string
	// StartUp is the time from exec to the first successful Ready answer.
	StartUp time.Duration
}

// Start runs s on a free port and waits (up to 30 s) for its first
// successful answer, polling every 200 µs.
func Start(ctx context.Context, s Server) (*Process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := s.Command(port)
	cmd.Stdout, cmd.Stderr = nil, nil
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	ready := s.Ready(base)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	p := &Process{cmd: cmd, Base: base}
	deadline := t0.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			p.Stop()
			return nil, ctx.Err()
		}
		if once(ctx, client, ready) == nil {
			p.StartUp = time.Since(t0)
			return p, nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	p.Stop()
	return nil, fmt.Errorf("%s did not answer %s within 30 s", s.Name, ready.URL)
}

// RSS reports the resident set size of the process in bytes.
func (p *Process) RSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("VmRSS not found")
}

// Stop sends SIGTERM and waits up to 5 s before killing.
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// CPU reports the processor time (user and system) the process has used,
// from /proc/<pid>/stat, in clock ticks of 10 ms.
func (p *Process) CPU() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(data))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line; the command name, field 2, may hold spaces, so
// fields are counted from its closing parenthesis.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}
