package main

import (
	"runtime/debug"
	"testing"
)

func TestRelaxGCRestoresTheProcessSetting(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, tt := range []struct {
		name        string
		own, during int
	}{
		{"default raised", 100, startGCPercent},
		{"higher GOGC kept", 2000, 2000},
		{"collector off kept", -1, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(tt.own)
			restore := relaxGC()
			if got := debug.SetGCPercent(tt.during); got != tt.during {
				t.Errorf("during start-up: %d, want %d", got, tt.during)
			}
			restore()
			restore() // a second call changes nothing
			if got := debug.SetGCPercent(tt.own); got != tt.own {
				t.Errorf("after start-up: %d, want %d", got, tt.own)
			}
		})
	}
}
