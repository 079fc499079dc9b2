//go:build !unix

package main

import "time"

// processCPU is not measured here; CPU per check then reads 0.
func processCPU() time.Duration { return 0 }

// peakRSSMB is not measured here.
func peakRSSMB() float64 { return 0 }

// machineBusy is not measured here.
func machineBusy() (time.Duration, bool) { return 0, false }
