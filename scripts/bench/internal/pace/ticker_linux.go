package pace

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ticker is a periodic timerfd read through the runtime's poller.
type ticker struct {
	f   *os.File
	buf [8]byte // the count of expirations a read returns
}

func newTicker(period time.Duration) (*ticker, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("pace: timerfd_create: %w", err)
	}
	ts := unix.NsecToTimespec(period.Nanoseconds())
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pace: timerfd_settime: %w", err)
	}
	// A non-blocking descriptor: os.NewFile puts it in the poller.
	return &ticker{f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

// wait returns when the timer has fired once or more since the last wait.
func (t *ticker) wait() error {
	if _, err := t.f.Read(t.buf[:]); err != nil {
		return fmt.Errorf("pace: read timerfd: %w", err)
	}
	return nil
}

func (t *ticker) stop() { t.f.Close() }
