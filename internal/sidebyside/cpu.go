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
}

// clockTick is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTime is the user plus system time pid has used so far, from
// /proc/<pid>/stat (fields 14 and 15; the command name in field 2 may hold
// spaces, so fields are counted after its closing parenthesis).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var total time.Duration
	for _, s := range f[11:13] { // utime, stime
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		total += time.Duration(n) * clockTick
	}
	return total, nil
}

// cpuClock reads the CPU times of a set of processes; a clickhouse pid of 0
// is not read (its time stays 0).
type cpuClock struct{ collector, clickhouse int }

func (c cpuClock) read() (CPU, error) {
	var v CPU
	var err error
	if v.Collector, err = cpuTime(c.collector); err != nil {
		return v, err
	}
	if c.clickhouse != 0 {
		if v.ClickHouse, err = cpuTime(c.clickhouse); err != nil {
			return v, err
		}
	}
	v.Sender, err = cpuTime(os.Getpid())
	return v, err
}

func (a CPU) sub(b CPU) CPU {
	return CPU{Collector: a.Collector - b.Collector, ClickHouse: a.ClickHouse - b.ClickHouse, Sender: a.Sender - b.Sender}
}
