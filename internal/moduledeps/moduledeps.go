//go:build moduledeps

// Package moduledeps pins the modules the project is built from while the
// packages that import them are being written; it is never compiled.
package moduledeps

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/ebitengine/purego"
	_ "github.com/stretchr/testify/require"
	_ "go.opentelemetry.io/collector/component"
	_ "go.opentelemetry.io/collector/component/componenttest"
	_ "go.opentelemetry.io/collector/config/configopaque"
	_ "go.opentelemetry.io/collector/config/configretry"
	_ "go.opentelemetry.io/collector/config/configtls"
	_ "go.opentelemetry.io/collector/confmap"
	_ "go.opentelemetry.io/collector/confmap/confmaptest"
	_ "go.opentelemetry.io/collector/confmap/xconfmap"
	_ "go.opentelemetry.io/collector/consumer"
	_ "go.opentelemetry.io/collector/consumer/consumertest"
	_ "go.opentelemetry.io/collector/exporter"
	_ "go.opentelemetry.io/collector/exporter/exporterhelper"
	_ "go.opentelemetry.io/collector/exporter/exportertest"
	_ "go.opentelemetry.io/collector/pdata/pcommon"
	_ "go.opentelemetry.io/collector/pdata/ptrace"
	_ "go.opentelemetry.io/collector/pipeline"
	_ "go.opentelemetry.io/collector/processor"
	_ "go.opentelemetry.io/collector/processor/processorhelper"
	_ "go.opentelemetry.io/collector/processor/processortest"
	_ "go.opentelemetry.io/otel/metric"
	_ "go.opentelemetry.io/otel/trace"
	_ "go.uber.org/zap"
)
