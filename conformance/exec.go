package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Exec is a consumer the runner starts as a child process: Command runs
// through `sh -c` with Env.Vars added to the environment, and must listen
// on $HOST:$PORT (HOST is 127.0.0.1 unless Config.ListenHost or
// Config.CallbackHost says otherwise). Restart kills it (SIGKILL, as a crash would) and
// starts it again on the same port with the same state directory.
type Exec struct {
	Command string
	// WebhookPath and ProbePath are served by the consumer
	// (DefaultWebhookPath and DefaultProbePath when ""); Probe, when set,
	// replaces the probe URL entirely; NoProbe says it serves no probe.
	WebhookPath string
	ProbePath   string
	Probe       string
	NoProbe     bool
	// Output receives the consumer's stdout and stderr (nil: discarded).
	Output io.Writer
	// StartTimeout bounds waiting for the port (DefaultStartTimeout when
	// zero).
	StartTimeout time.Duration

	mu   sync.Mutex
	env  Env
	port string
	cmd  *exec.Cmd
	done chan struct{}
	// tail keeps the consumer's last output across restarts.
	tail *tailBuffer
}

// consumerOutput is a consumer whose output the runner keeps, to show
// what it wrote during a scenario that failed.
type consumerOutput interface {
	outputMark() int64
	outputSince(mark int64) string
}

var _ consumerOutput = (*Exec)(nil)

// outputLines bounds the output attached to a failed scenario.
const outputLines = 20

func (e *Exec) outputMark() int64 {
	if e.tail == nil {
		return 0
	}
	return e.tail.mark()
}

func (e *Exec) outputSince(mark int64) string {
	if e.tail == nil {
		return ""
	}
	return e.tail.since(mark, outputLines)
}

var _ Consumer = (*Exec)(nil)

// Start picks a free port and starts the command.
func (e *Exec) Start(ctx context.Context, env Env) (Endpoint, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(env.host(), "0"))
	if err != nil {
		return Endpoint{}, err
	}
	e.port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	e.env = env
	if err := e.start(ctx); err != nil {
		return Endpoint{}, err
	}
	ep := Endpoint{URL: "http://" + net.JoinHostPort(env.callbackHost(), e.port) + withDefault(e.WebhookPath, DefaultWebhookPath), ProbeURL: e.Probe}
	if ep.ProbeURL == "" && !e.NoProbe {
		// The runner reads the probe from this machine, where the consumer
		// listens, whatever address the sandbox reaches it at.
		ep.ProbeURL = "http://" + net.JoinHostPort(env.localHost(), e.port) + withDefault(e.ProbePath, DefaultProbePath)
	}
	return ep, nil
}

func (e *Exec) start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cmd := exec.Command("sh", "-c", e.Command)
	cmd.Env = append(os.Environ(), e.env.Vars(e.port)...)
	if e.tail == nil {
		e.tail = &tailBuffer{max: 16 << 10}
	}
	tail := e.tail
	var out io.Writer = tail
	if e.Output != nil {
		out = io.MultiWriter(e.Output, tail)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a kill reaches what `sh -c` started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start consumer %q: %w", e.Command, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.cmd, e.done = cmd, done
	timeout := e.StartTimeout
	if timeout == 0 {
		timeout = DefaultStartTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(e.env.localHost(), e.port), 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("consumer %q exited (%s) before listening on port %s%s", e.Command, cmd.ProcessState, e.port, lastWords(tail))
		case <-ctx.Done():
			e.abandon(cmd, done)
			return ctx.Err()
		case <-time.After(10 * time.Millisecond): // a restart is back within a few ms
		}
		if time.Now().After(deadline) {
			e.abandon(cmd, done)
			return fmt.Errorf("consumer %q did not listen on port %s within %s%s", e.Command, e.port, timeout, lastWords(tail))
		}
	}
}

// abandon kills a consumer that never became ready: nothing else would.
func (e *Exec) abandon(cmd *exec.Cmd, done <-chan struct{}) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// lastWords formats the consumer's last output lines for an error.
func lastWords(t *tailBuffer) string {
	if l := t.lines(10); l != "" {
		return "; its last output:\n" + l
	}
	return "; it wrote nothing"
}

// CanRestart is true.
func (e *Exec) CanRestart() bool { return true }

// Restart kills the process and starts it again.
func (e *Exec) Restart(ctx context.Context) error {
	if err := e.kill(); err != nil {
		return err
	}
	return e.start(ctx)
}

// RestartWithSecret kills the process and starts it again with another
// ARGUS_WEBHOOK_SECRET.
func (e *Exec) RestartWithSecret(ctx context.Context, secret string) error {
	if err := e.kill(); err != nil {
		return err
	}
	e.mu.Lock()
	e.env.Secret = secret
	e.mu.Unlock()
	return e.start(ctx)
}

// kill stops the process group abruptly: a restart must not let the
// consumer flush what it keeps in memory.
func (e *Exec) kill() error {
	e.mu.Lock()
	cmd, done := e.cmd, e.done
	e.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	<-done
	e.waitPortClosed()
	return nil
}

// portCloseWait bounds how long a kill waits for the killed consumer's
// port to close.
const portCloseWait = 5 * time.Second

// waitPortClosed waits until nothing accepts connections on the
// consumer's port. The shell is reaped as soon as it dies, but the
// consumer it started may hold its listening socket a moment longer: a
// start that found the port open then took the dying process for the new
// one, and the next delivery was refused.
func (e *Exec) waitPortClosed() {
	addr := net.JoinHostPort(e.env.localHost(), e.port)
	for deadline := time.Now().Add(portCloseWait); time.Now().Before(deadline); {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		_ = conn.Close()
		time.Sleep(5 * time.Millisecond)
	}
}

// Stop kills the process.
func (e *Exec) Stop() error { return e.kill() }
