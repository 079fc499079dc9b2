module github.com/stella-ops/inthub/services/health-scheduler

go 1.26.8

require github.com/stella-ops/inthub/shared v0.0.0

replace github.com/stella-ops/inthub/shared => ../../shared
