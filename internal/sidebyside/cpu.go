package sidebyside

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// CPU is the processor time the processes of a run used from the first span
// sent to the last row visible: it tells which of them the run waited on.
type CPU struct {
	Collector, ClickHouse, Sender time.Duration
	// CollectorSys is the part of Collector spent in the kernel: system
	// calls, and page faults while the heap grows.
	CollectorSys time.Duration
}

// clockTick is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTime is the user plus system time pid has used so far.
func cpuTime(pid int) (time.Duration, error) {
	user, sys, err := cpuTimes(pid)
	return user + sys, err
}

// cpuTimes is the user and the system time pid has used so far, from
// /proc/<pid>/stat (fields 14 and 15; the command name in field 2 may hold
// spaces, so fields are counted after its closing parenthesis).
func cpuTimes(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var t [2]time.Duration
	for j, s := range f[11:13] { // utime, stime
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		t[j] = time.Duration(n) * clockTick
	}
	return t[0], t[1], nil
}

// peakRSS is the largest resident set pid has had (VmHWM in
// /proc/<pid>/status), in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmHWM: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// cpuClock reads the CPU times of a set of processes; a clickhouse pid of 0
// is not read (its time stays 0).
type cpuClock struct{ collector, clickhouse int }

func (c cpuClock) read() (CPU, error) {
	var v CPU
	var err error
	var user time.Duration
	if user, v.CollectorSys, err = cpuTimes(c.collector); err != nil {
		return v, err
	}
	v.Collector = user + v.CollectorSys
	if c.clickhouse != 0 {
		if v.ClickHouse, err = cpuTime(c.clickhouse); err != nil {
			return v, err
		}
	}
	v.Sender, err = cpuTime(os.Getpid())
	return v, err
}

func (a CPU) sub(b CPU) CPU {
	return CPU{
		Collector: a.Collector - b.Collector, ClickHouse: a.ClickHouse - b.ClickHouse, Sender: a.Sender - b.Sender,
		CollectorSys: a.CollectorSys - b.CollectorSys,
	}
}
