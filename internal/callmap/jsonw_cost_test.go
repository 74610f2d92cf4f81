package callmap

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAppendCost(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0.0045000000000000005, "0.0045"},
		{0.00008999999999999999, "0.00009"},
		{3e-7, "3e-7"},
		{0.00489, "0.00489"},
		{0, "0"},
		{1234.56789012345, "1234.56789012"},
		{1.25e-7, "1.25e-7"}, {0.000004, "0.000004"},
		{math.NaN(), `"NaN"`},
	}
	for _, tt := range tests {
		got := string(appendCost(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendCost(%v) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("appendCost(%v) = %s is not JSON", tt.in, got)
		}
	}
}
