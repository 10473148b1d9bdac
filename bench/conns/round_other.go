//go:build !linux

package main

import "syscall"

const defaultEngine = "goroutines"

// rawFD is not needed without the epoll engine.
func rawFD(syscall.Conn) (int, error) { return -1, nil }

// epollRound is Linux's; elsewhere the goroutine engine runs the round.
func epollRound(o options, clients []*client, req []byte, rate float64) report {
	return childRound(o, clients, req, rate)
}
