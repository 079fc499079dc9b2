// Command ingress runs the HTTP API on its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	common, err := config.FromEnv("ingress")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(2)
	}
	defer common.Close()
	tokens, err := ingress.LoadTokens(os.Getenv("INTHUB_TOKENS_FILE"), os.Getenv("INTHUB_TOKENS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(2)
	}
	limit, _ := strconv.ParseInt(config.Env("INTHUB_BODY_LIMIT", "1048576"), 10, 64)
	err = ingress.Run(ctx, ingress.Config{
		Addr: config.Env("INTHUB_ADDR", ":8080"), Bus: common.Bus, Tokens: tokens, BodyLimit: limit,
		Logger: common.Logger, Metrics: common.Metrics, Gatherer: common.Metrics,
	})
	if err != nil {
		common.Logger.Error("ingress stopped", "error", err.Error())
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(1)
	}
}
