package embeddedch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOptionsValidate(t *testing.T) {
	ok := Options{Path: "/d", TCPPort: 9000, HTTPPort: 8123}
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr []string
	}{
		{"defaults", func(*Options) {}, nil},
		{"ipv6 loopback", func(o *Options) { o.Listen = "::1" }, nil},
		{"localhost", func(o *Options) { o.Listen = "localhost" }, nil},
		{"no path", func(o *Options) { o.Path = "" }, []string{"data path is required"}},
		{"not loopback", func(o *Options) { o.Listen = "0.0.0.0" }, []string{"not loopback"}},
		{"bad ports", func(o *Options) { o.TCPPort, o.HTTPPort = 0, 70000 }, []string{"tcp port 0", "http port 70000"}},
		{"same ports", func(o *Options) { o.HTTPPort = 9000 }, []string{"both 9000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mutate(&o)
			err := o.Validate()
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			for _, w := range tt.wantErr {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestOptionsAddrs(t *testing.T) {
	o := Options{TCPPort: 9000, HTTPPort: 8123}
	require.Equal(t, "127.0.0.1:9000", o.TCPAddr())
	require.Equal(t, "127.0.0.1:8123", o.HTTPAddr())
	o.Listen = "::1"
	require.Equal(t, "[::1]:9000", o.TCPAddr())
}
