package main

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	valid := options{
		otlp: "127.0.0.1:4317", clickhouse: "localhost:9000", database: "weave",
		rate: 1000, duration: time.Second, drain: time.Second,
		concurrency: 1, batch: 10, spansPerTrace: 5, probesPerSecond: 1,
	}
	tests := []struct {
		name    string
		change  func(*options)
		wantErr string // "" for valid
	}{
		{"valid", func(*options) {}, ""},
		{"ipv6 loopback", func(o *options) { o.otlp = "[::1]:4317" }, ""},
		{"remote collector", func(o *options) { o.otlp = "10.0.0.5:4317" }, `-otlp: "10.0.0.5:4317" is not a loopback address`},
		{"remote clickhouse by name", func(o *options) { o.clickhouse = "clickhouse.example.com:9000" }, "-clickhouse:"},
		{"no port", func(o *options) { o.otlp = "127.0.0.1" }, "-otlp:"},
		{"rate above the bound", func(o *options) { o.rate = maxRate + 1 }, "-rate"},
		{"duration above the bound", func(o *options) { o.duration = maxDuration + time.Second }, "-duration"},
		{"no clients", func(o *options) { o.concurrency = 0 }, "-concurrency"},
		{"batch smaller than a trace", func(o *options) { o.batch = 4 }, "-batch 4"},
		{"one span per trace", func(o *options) { o.spansPerTrace = 1 }, "-spans-per-trace"},
		{"no probes", func(o *options) { o.probesPerSecond = 0 }, "-probes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.change(&o)
			err := o.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestArrayLiteral(t *testing.T) {
	tests := []struct {
		ids  []string
		want string
	}{
		{nil, "[]"},
		{[]string{"00f067aa0ba902b7"}, "['00f067aa0ba902b7']"},
		{[]string{"a1", "b2"}, "['a1','b2']"},
	}
	for _, tt := range tests {
		if got := arrayLiteral(tt.ids); got != tt.want {
			t.Errorf("arrayLiteral(%q) = %s, want %s", tt.ids, got, tt.want)
		}
	}
}
