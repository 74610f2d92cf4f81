// Package localstack runs the processes of a local callhouse stack — the
// embedded ClickHouse launcher and the otelcol-callhouse collector — as
// child processes: it starts them, waits until they serve, and stops them
// cleanly. `make run`, the load generator and the end-to-end tests share it.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a started child process.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, set before done is closed
}

// start runs cmd and waits until ready succeeds, the process exits, or
// timeout passes. The child gets its own process group, so a Ctrl-C on the
// terminal reaches only the parent, which then stops its children in order
// (collector first, so it can flush, then ClickHouse); and it is sent
// SIGTERM should the parent die. closeAfterStart are the parent's copies of
// the child's ends of pipes.
func start(ctx context.Context, name string, cmd *exec.Cmd, ready func(context.Context) error, timeout time.Duration, closeAfterStart ...io.Closer) (*Process, error) {
	cmd.SysProcAttr = sysProcAttr()
	err := cmd.Start()
	for _, c := range closeAfterStart {
		c.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = ready(ctx); lastErr == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it was ready: %v (last check: %v)", name, p.err, lastErr)
		case <-ctx.Done():
			_ = p.Stop(5 * time.Second)
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, fmt.Errorf("start of %s interrupted", name)
			}
			return nil, fmt.Errorf("%s not ready after %s: %w", name, timeout, lastErr)
		case <-tick.C:
		}
	}
}

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// Name is the name the process was started under.
func (p *Process) Name() string { return p.name }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the exit status once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Stop asks the process to shut down (SIGTERM: the collector drains its
// pipeline, the launcher stops ClickHouse) and kills it if it has not
// exited after timeout. It returns the exit error, nil for a clean exit or
// an exit caused by the SIGTERM.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", p.name, timeout)
	}
}

// Kill ends the process at once, as a crash would.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *Process) exitErr() error {
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	if p.err != nil {
		return fmt.Errorf("%s: %w", p.name, p.err)
	}
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command builds a child command whose output goes to out (os.Stderr when
// nil) and whose environment is the parent's plus env.
func command(bin string, args []string, env []string, out io.Writer) *exec.Cmd {
	if out == nil {
		out = os.Stderr
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
