package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/clickhouse-go/v2"
	chcolumn "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// ClickHouse server error codes the exporter tells apart (ErrorCodes.cpp).
const (
	codeUnknownTable          = 60
	codeUnknownDatabase       = 81
	codeReadonly              = 164
	codeUnknownUser           = 192
	codeWrongPassword         = 193
	codeRequiredPassword      = 194
	codeIPAddressNotAllowed   = 195
	codeAccessDenied          = 497
	codeAuthenticationFailed  = 516
	codeNoSuchColumnInTable   = 16
	codeThereIsNoColumn       = 8
	codeNotFoundColumnInBlock = 10
	codeTypeMismatch          = 53
	codeCannotConvertType     = 70
	codeIllegalColumn         = 44
	codeSyntaxError           = 62
	codeUnknownIdentifier     = 47
	codeNumberOfColumns       = 20
	codeCannotParseText       = 6
	codeCannotParseDateTime   = 41
	codeIncorrectData         = 117
	codeUnknownSetting        = 115
	codeSettingConstraint     = 452
	codeViolatedConstraint    = 469
)

// permanentCodes are server errors that retrying the same insert cannot
// fix, with the cause named for the operator.
var permanentCodes = map[int32]string{
	codeUnknownUser:           "authentication failed",
	codeWrongPassword:         "authentication failed",
	codeRequiredPassword:      "authentication failed",
	codeAuthenticationFailed:  "authentication failed",
	codeIPAddressNotAllowed:   "access denied",
	codeAccessDenied:          "access denied",
	codeReadonly:              "access denied",
	codeUnknownDatabase:       "unknown database",
	codeUnknownTable:          "unknown table",
	codeNoSuchColumnInTable:   "schema mismatch",
	codeThereIsNoColumn:       "schema mismatch",
	codeNotFoundColumnInBlock: "schema mismatch",
	codeNumberOfColumns:       "schema mismatch",
	codeUnknownIdentifier:     "schema mismatch",
	codeTypeMismatch:          "type mismatch",
	codeCannotConvertType:     "type mismatch",
	codeIllegalColumn:         "type mismatch",
	codeCannotParseText:       "bad data",
	codeCannotParseDateTime:   "bad data",
	codeIncorrectData:         "bad data",
	codeSyntaxError:           "syntax error",
	codeUnknownSetting:        "unknown setting",
	codeSettingConstraint:     "setting not allowed",
	codeViolatedConstraint:    "constraint violated",
}

// hints tell the operator what to do about a permanent cause.
var hints = map[string]string{
	"authentication failed": "check username and password",
	"access denied":         "grant the user INSERT (and, with create_schema, CREATE) on the database",
	"unknown database":      "create it or set create_schema: true",
	"unknown table":         "create the schema or set create_schema: true",
	"schema mismatch":       "the tables do not match this exporter version; apply its schema",
	"type mismatch":         "the tables do not match this exporter version; apply its schema",
	"unknown setting":       "remove it from the endpoint's query settings",
	"setting not allowed":   "the user's settings profile forbids it; remove it from the endpoint's query settings",
	"constraint violated":   "a CHECK constraint on the table rejects these calls; drop or relax it",
}

// classify names the cause of a ClickHouse error for the log and tells the
// exporterhelper whether to retry it: errors retrying cannot fix are
// consumererror.Permanent (dropped and reported once), the rest (network,
// timeouts, overload) are returned as they are and retried with backoff.
func classify(op, addr string, err error) error {
	if err == nil {
		return nil
	}
	if code, ok := serverCode(err); ok {
		if cause, permanent := permanentCodes[code]; permanent {
			return consumererror.NewPermanent(describe(op, addr, cause, err))
		}
		return fmt.Errorf("%s: ClickHouse at %s: %w", op, addr, err)
	}
	if cause := clientCause(err); cause != "" {
		return consumererror.NewPermanent(describe(op, addr, cause, err))
	}
	if cause := networkCause(err); cause != "" {
		return describe(op, addr, cause, err)
	}
	return fmt.Errorf("%s: ClickHouse at %s: %w", op, addr, err)
}

// serverCode is the code of a server error, as either driver reports it
// (clickhouse-go for the schema and HTTP, ch-go for native INSERTs).
func serverCode(err error) (int32, bool) {
	if exc, ok := errors.AsType[*clickhouse.Exception](err); ok {
		return exc.Code, true
	}
	if exc, ok := errors.AsType[*ch.Exception](err); ok {
		return int32(exc.Code), true
	}
	return 0, false
}

func describe(op, addr, cause string, err error) error {
	if hint, ok := hints[cause]; ok {
		return fmt.Errorf("%s: %s at ClickHouse %s (%s): %w", op, cause, addr, hint, err)
	}
	return fmt.Errorf("%s: %s at ClickHouse %s: %w", op, cause, addr, err)
}

// clientCause names errors raised in the client that a retry repeats:
// values the columns cannot hold, and TLS set up wrongly.
func clientCause(err error) string {
	if _, ok := errors.AsType[*chcolumn.ColumnConverterError](err); ok {
		return "type mismatch"
	}
	if _, ok := errors.AsType[*chcolumn.UnsupportedColumnTypeError](err); ok {
		return "type mismatch"
	}
	if _, ok := errors.AsType[*chcolumn.Error](err); ok {
		return "type mismatch"
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return "TLS certificate rejected"
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return "TLS certificate rejected"
	}
	return ""
}

// networkCause names the transient network failures.
func networkCause(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection lost"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, clickhouse.ErrAcquireConnTimeout):
		return "timeout"
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		if dnsErr.IsNotFound {
			return "unknown host"
		}
		return "name resolution failed"
	}
	if netErr, ok := errors.AsType[net.Error](err); ok {
		if netErr.Timeout() {
			return "timeout"
		}
		return "network error"
	}
	return ""
}
