//go:build !linux

package main

import (
	"errors"
	"net"
)

const defaultEngine = "goroutines"

// runEpoll stands for the epoll engine, which needs Linux.
func runEpoll(_ *options, _ []net.IP, _ *net.TCPAddr, _ []byte, _ *result, _ *window) error {
	return errors.New("-engine epoll needs Linux; use -engine goroutines")
}
