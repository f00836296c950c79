// Package container runs the Argus sandbox image for Go tests as a
// testcontainers-go module, the way its modules/ do: Run starts the image
// with customizers, and the result is both the container and the
// sandboxtest helpers.
//
//	ctr, err := container.Run(ctx, container.DefaultImage, container.WithSeed(7))
//	testcontainers.CleanupContainer(t, ctr)
//	if err != nil { t.Fatal(err) }
//	app, err := ctr.RegisterApp(ctx, "acme", "webhooks:write")
//
// It is a Go module of its own so that a module importing only sandboxtest
// (the in-process form) pulls in no Docker client.
package container

import (
	"context"
	"crypto/rand"
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

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/sandboxtest"
)

// DefaultRepository is the sandbox image's repository. The image is not
// published to a registry: scripts/build-image.sh builds it from the
// source tree and tags it DefaultImage.
const DefaultRepository = "docker.io/knogin/argus-sandbox"

// DefaultImage is the image reference of this release of the module,
// fully qualified and versioned so a test never starts an image other
// than the one this code was written against.
const DefaultImage = DefaultRepository + ":0.1.0"

// Paths inside the container for the copied fixtures and faults file.
const (
	containerPort        = "8080/tcp"
	containerFixturesDir = "/etc/argus-sandbox/fixtures"
	containerFaultsDir   = "/etc/argus-sandbox/faults"
	// dataDir is the image's directory for the state (owned by its user).
	dataDir = "/data"
)

// Container is a running sandbox container: the testcontainers container
// (logs, exec, state) and the sandboxtest helpers (BaseURL, AdminToken,
// RegisterApp, AdvanceClock, ...) on one value. Pass it to
// testcontainers.CleanupContainer, or call Terminate.
type Container struct {
	*testcontainers.DockerContainer
	*sandboxtest.Sandbox
}

// Terminate releases the helpers' connections, then stops and removes
// the container.
func (c *Container) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if c == nil || c.DockerContainer == nil {
		return nil
	}
	var err error
	if c.Sandbox != nil {
		err = c.Sandbox.Terminate(ctx)
	}
	return errors.Join(err, c.DockerContainer.Terminate(ctx, opts...))
}

// Option is a customizer of this module: it configures the sandbox, and
// Run turns the settings into the container request. It satisfies
// testcontainers.ContainerCustomizer, so it mixes with testcontainers'
// own customizers in one Run call.
type Option func(*settings)

// Customize does nothing: Run reads Options before building the request.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

type settings struct {
	fixturesDir    string
	faultsFile     string
	seed           int64
	operatorToken  string
	startupTimeout time.Duration
	dataVolume     string
}

// WithFixtures replaces the embedded fixtures with the five files of dir
// (tenants.yaml, scopes.yaml, cases.yaml, events.yaml, bundles.yaml),
// copied into the container (so a remote engine works too).
func WithFixtures(dir string) Option { return func(s *settings) { s.fixturesDir = dir } }

// WithFaults loads a fault-rule file (YAML or JSON, the --faults format) at
// start; Reset returns to its rules.
func WithFaults(file string) Option { return func(s *settings) { s.faultsFile = file } }

// WithSeed makes IDs, secrets, retry jitter and fault probabilities
// reproducible.
func WithSeed(seed int64) Option { return func(s *settings) { s.seed = seed } }

// WithOperatorToken sets the control-plane token (a random one by default).
func WithOperatorToken(token string) Option { return func(s *settings) { s.operatorToken = token } }

// WithDataVolume keeps the sandbox's state in the named Docker volume,
// mounted at /data (ARGUS_SANDBOX_DATA_DIR=/data): a container started
// later on the same volume finds the apps, tokens' keys, webhooks and
// cases of the one before. The volume outlives the container; remove it
// with testcontainers.RemoveVolumes when terminating the last one.
func WithDataVolume(name string) Option { return func(s *settings) { s.dataVolume = name } }

// WithStartupTimeout bounds the wait for the sandbox to become healthy (60 s
// by default).
func WithStartupTimeout(d time.Duration) Option { return func(s *settings) { s.startupTimeout = d } }

// Run starts img as a container and waits until the sandbox is healthy.
// The fixtures and faults file are checked here first, so a bad one fails
// with its name and field before anything starts; every problem is
// reported together. testcontainers customizers given after this module's
// own override them (e.g. a wait strategy). On an error the container, if
// one was created, is returned too, for testcontainers.CleanupContainer.
//
// Where no reaper image can be pulled, set TESTCONTAINERS_RYUK_DISABLED=true
// and always terminate the container.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	st := &settings{startupTimeout: 60 * time.Second}
	for _, o := range opts {
		if o, ok := o.(Option); ok {
			o(st)
		}
	}
	if st.operatorToken == "" {
		st.operatorToken = "op_" + rand.Text()
	}
	fx, err := check(st)
	if err != nil {
		return nil, err
	}
	if err := imagePresent(ctx, img); err != nil {
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
	var mounts []testcontainers.ContainerMount
	if st.dataVolume != "" {
		env["ARGUS_SANDBOX_DATA_DIR"] = dataDir
		mounts = append(mounts, testcontainers.VolumeMount(st.dataVolume, dataDir))
	}
	var cmd []string
	if st.seed != 0 {
		cmd = append(cmd, "--seed", strconv.FormatInt(st.seed, 10))
	}
	all := append([]testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(env),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithFiles(files...),
		testcontainers.WithMounts(mounts...),
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
			WithPollInterval(100 * time.Millisecond).WithStartupTimeout(st.startupTimeout)),
	}, opts...)
	ctr, err := testcontainers.Run(ctx, img, all...)
	var c *Container
	if ctr != nil {
		c = &Container{DockerContainer: ctr}
	}
	if err != nil {
		return c, fmt.Errorf("sandboxtest/container: start %s: %w%s", img, err, logTail(ctx, ctr))
	}
	gateway, err := gatewayOf(ctx, ctr)
	if err != nil {
		return c, err
	}
	c.Sandbox = sandboxtest.Connect(sandboxtest.Remote{BaseURL: baseURL, OperatorToken: st.operatorToken,
		CallbackHost: gateway, Fixtures: fx})
	if err := c.Health(ctx); err != nil {
		return c, fmt.Errorf("sandboxtest/container: the container is healthy but %s is unreachable from here (set TESTCONTAINERS_HOST_OVERRIDE to the host its ports are published on): %w", baseURL, err)
	}
	return c, nil
}

// check loads the fixtures and faults file the way the sandbox will, and
// returns the fixtures (for AdminToken).
func check(st *settings) (*fixtures.Set, error) {
	var errs []error
	fx := fixtures.MustDefault()
	if st.fixturesDir != "" {
		var err error
		if fx, err = fixtures.Load(os.DirFS(st.fixturesDir)); err != nil {
			errs = append(errs, fmt.Errorf("sandboxtest/container: fixtures %s: %w", st.fixturesDir, err))
		}
	}
	if st.faultsFile != "" {
		data, err := os.ReadFile(st.faultsFile)
		if err == nil {
			_, err = emulator.ParseFaultRules(st.faultsFile, data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sandboxtest/container: faults: %w", err))
		}
	}
	return fx, errors.Join(errs...)
}

// imagePresent refuses an image of DefaultRepository that the engine does
// not hold, saying how to build it: it is in no registry, so a pull could
// only fail (slowly, and with a less useful message). Other images are
// left to testcontainers, which pulls them.
func imagePresent(ctx context.Context, img string) error {
	if !strings.HasPrefix(img, DefaultRepository+":") && !strings.HasPrefix(img, DefaultRepository+"@") {
		return nil
	}
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return fmt.Errorf("sandboxtest/container: docker: %w", err)
	}
	defer p.Close()
	_, err = p.Client().ImageInspect(ctx, img)
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("sandboxtest/container: image %s is not on this Docker engine and is published nowhere: build it from the repository root with scripts/build-image.sh", img)
	}
	if err != nil {
		return fmt.Errorf("sandboxtest/container: inspect image %s: %w", img, err)
	}
	return nil
}

// containerFiles lists the fixture files and the faults file to copy in,
// and points the sandbox at them through env.
func containerFiles(st *settings, env map[string]string) ([]testcontainers.ContainerFile, error) {
	var files []testcontainers.ContainerFile
	if st.fixturesDir != "" {
		entries, err := os.ReadDir(st.fixturesDir)
		if err != nil {
			return nil, fmt.Errorf("sandboxtest/container: fixtures: %w", err)
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
		return "", fmt.Errorf("sandboxtest/container: inspect container: %w", err)
	}
	if info.NetworkSettings != nil {
		for _, ep := range info.NetworkSettings.Networks {
			if ep != nil && ep.Gateway.IsValid() {
				return ep.Gateway.String(), nil
			}
		}
	}
	return "", errors.New("sandboxtest/container: the container has no network gateway to reach webhook receivers on")
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before Docker binds it; the start then fails visibly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("sandboxtest/container: free port: %w", err)
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
