package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Paths inside the container for the copied fixtures and faults file.
const (
	containerPort        = "8080/tcp"
	containerFixturesDir = "/etc/argus-sandbox/fixtures"
	containerFaultsDir   = "/etc/argus-sandbox/faults"
)

// Run starts the sandbox image as a container with testcontainers-go and
// waits until GET /healthz answers. The fixtures directory and faults file
// are copied into the container (so a remote Docker engine works too).
//
// Where no reaper image can be pulled, set TESTCONTAINERS_RYUK_DISABLED=true
// and always call Terminate.
func Run(ctx context.Context, opts ...Option) (*Sandbox, error) {
	st, fx, _, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	// Tokens name the issuer in iss and aud, and discovery publishes it, so
	// it must be the URL the test dials: publish the port on a host port
	// chosen here and tell the sandbox its public URL before it starts.
	// The engine is taken to be local (loopback) unless
	// TESTCONTAINERS_HOST_OVERRIDE names where its ports are reached.
	host, bindIP := "127.0.0.1", netip.MustParseAddr("127.0.0.1")
	if v := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); v != "" {
		host, bindIP = v, netip.IPv4Unspecified()
	}
	hostPort, err := freePort()
	if err != nil {
		return nil, err
	}
	baseURL := "http://" + net.JoinHostPort(host, strconv.Itoa(hostPort))
	env := map[string]string{
		"ARGUS_SANDBOX_ISSUER":         baseURL,
		"ARGUS_SANDBOX_OPERATOR_TOKEN": st.operatorToken,
	}
	files, err := containerFiles(st, env)
	if err != nil {
		return nil, err
	}
	var cmd []string
	if st.seed != 0 {
		cmd = append(cmd, "--seed", strconv.FormatInt(st.seed, 10))
	}
	ctr, err := testcontainers.Run(ctx, st.image,
		testcontainers.WithEnv(env),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithFiles(files...),
		testcontainers.WithExposedPorts(containerPort),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{
				network.MustParsePort(containerPort): {{HostIP: bindIP, HostPort: strconv.Itoa(hostPort)}},
			}
		}),
		// Readiness is the image's own HEALTHCHECK command run inside the
		// container: it does not depend on how this process reaches the
		// engine's ports (checked right after).
		testcontainers.WithWaitStrategy(wait.ForExec([]string{"/sandbox", "healthcheck"}).
			WithPollInterval(100*time.Millisecond).WithStartupTimeout(st.startupTimeout)),
	)
	if err != nil {
		err = fmt.Errorf("sandboxtest: start %s: %w%s", st.image, err, logTail(ctx, ctr))
		if ctr != nil {
			err = errors.Join(err, ctr.Terminate(context.WithoutCancel(ctx)))
		}
		return nil, err
	}
	gateway, err := gatewayOf(ctx, ctr)
	if err != nil {
		return nil, errors.Join(err, ctr.Terminate(context.WithoutCancel(ctx)))
	}
	sb := newSandbox(baseURL, st.operatorToken, gateway, fx)
	sb.container = ctr
	sb.terminate = func(ctx context.Context) error {
		sb.api.HTTPClient().CloseIdleConnections()
		return ctr.Terminate(ctx)
	}
	if err := sb.Health(ctx); err != nil {
		err = fmt.Errorf("sandboxtest: the container is healthy but %s is unreachable from here (set TESTCONTAINERS_HOST_OVERRIDE to the host its ports are published on): %w", baseURL, err)
		return nil, errors.Join(err, ctr.Terminate(context.WithoutCancel(ctx)))
	}
	return sb, nil
}

// containerFiles lists the fixture files and the faults file to copy in,
// and points the sandbox at them through env.
func containerFiles(st *settings, env map[string]string) ([]testcontainers.ContainerFile, error) {
	var files []testcontainers.ContainerFile
	if st.fixturesDir != "" {
		entries, err := os.ReadDir(st.fixturesDir)
		if err != nil {
			return nil, fmt.Errorf("sandboxtest: fixtures: %w", err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, testcontainers.ContainerFile{
					HostFilePath:      filepath.Join(st.fixturesDir, e.Name()),
					ContainerFilePath: containerFixturesDir + "/" + e.Name(),
					FileMode:          0o644,
				})
			}
		}
		env["ARGUS_SANDBOX_FIXTURES"] = containerFixturesDir
	}
	if st.faultsFile != "" {
		// The base name is kept so the sandbox's errors name the user's file.
		path := containerFaultsDir + "/" + filepath.Base(st.faultsFile)
		files = append(files, testcontainers.ContainerFile{HostFilePath: st.faultsFile, ContainerFilePath: path, FileMode: 0o644})
		env["ARGUS_SANDBOX_FAULTS"] = path
	}
	return files, nil
}

// gatewayOf returns the container network's gateway: the host's address on
// that network, where receivers started by StartReceiver listen.
func gatewayOf(ctx context.Context, ctr *testcontainers.DockerContainer) (string, error) {
	info, err := ctr.Inspect(ctx)
	if err != nil {
		return "", fmt.Errorf("sandboxtest: inspect container: %w", err)
	}
	if info.NetworkSettings != nil {
		for _, ep := range info.NetworkSettings.Networks {
			if ep != nil && ep.Gateway.IsValid() {
				return ep.Gateway.String(), nil
			}
		}
	}
	return "", errors.New("sandboxtest: the container has no network gateway to reach webhook receivers on")
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before Docker binds it; the start then fails visibly.
func freePort() (int, error) {
	ln, err := listen("127.0.0.1")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// logTail returns the end of the container's log for an error message, so
// a refused flag or fixture is visible without docker logs.
func logTail(ctx context.Context, ctr *testcontainers.DockerContainer) string {
	if ctr == nil {
		return ""
	}
	rc, err := ctr.Logs(context.WithoutCancel(ctx))
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return "\ncontainer log:\n" + strings.Join(lines, "\n")
}
