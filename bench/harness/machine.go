package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes where a Matrix ran. Fields the system would not tell
// are empty.
type Machine struct {
	CPU        string    `json:"cpu"`    // /proc/cpuinfo "model name"
	CPUs       int       `json:"cpus"`   // logical CPUs this process may use
	Kernel     string    `json:"kernel"` // uname -r
	Arch       string    `json:"arch"`   // uname -m
	GoVersion  string    `json:"go_version"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	Date       time.Time `json:"date"`
}

// DescribeMachine returns the description of this machine, now.
func DescribeMachine() Machine {
	m := Machine{
		CPUs:       runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Date:       time.Now().UTC().Truncate(time.Second),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = CpuModel(b)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
		m.Arch = unix.ByteSliceToString(u.Machine[:])
	}
	return m
}

// CpuModel returns the first "model name" in the text of /proc/cpuinfo.
func CpuModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// cpuStat is the machine-wide CPU time counters of /proc/stat, in ticks.
type cpuStat struct {
	total, steal uint64
}

// ReadCPUStat reads the aggregate "cpu" line of /proc/stat.
func ReadCPUStat() (cpuStat, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}, err
	}
	return ParseCPUStat(b)
}

// ParseCPUStat parses the "cpu" line: user nice system idle iowait irq
// softirq steal [guest guest_nice]. Guest time is already counted in user
// time, so the total is the first eight fields.
func ParseCPUStat(stat []byte) (cpuStat, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return cpuStat{}, errors.New("bench: /proc/stat: no aggregate cpu line with steal time")
	}
	var s cpuStat
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuStat{}, fmt.Errorf("bench: /proc/stat: field %d: %w", i+1, err)
		}
		s.total += n
		if i == 7 {
			s.steal = n
		}
	}
	return s, nil
}

// StealSince returns the share of CPU time stolen between then and s.
func (s cpuStat) StealSince(then cpuStat) float64 {
	if s.total <= then.total || s.steal < then.steal {
		return 0
	}
	return float64(s.steal-then.steal) / float64(s.total-then.total)
}
