module github.com/stella-ops/inthub/schemas

go 1.26
