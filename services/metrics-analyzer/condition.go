package metricsanalyzer

import (
	"fmt"
	"math"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/stella-ops/inthub/shared/contracts"
)

// conditionEnv is what a condition sees: result, the latest value of each
// series in order (NaN where the provider had no finite value), and
// series, the whole answer. Compiling against it refuses unknown names and
// non-boolean expressions when the run is requested.
type conditionEnv struct {
	Result []float64                `expr:"result"`
	Series []contracts.MetricSeries `expr:"series"`
}

// compileCondition compiles a success or failure condition; "" is none.
func compileCondition(src string) (*vm.Program, error) {
	if src == "" {
		return nil, nil
	}
	return expr.Compile(src, expr.Env(conditionEnv{}), expr.AsBool())
}

// envOf builds a condition's input from a query's answer.
func envOf(res contracts.MetricsResult) conditionEnv {
	env := conditionEnv{Result: make([]float64, len(res.Series)), Series: res.Series}
	for i, s := range res.Series {
		env.Result[i] = math.NaN()
		if n := len(s.Points); n > 0 && s.Points[n-1].Value != nil {
			env.Result[i] = *s.Points[n-1].Value
		}
	}
	return env
}

// judge gives a measurement's phase from its answer, as Argo Rollouts
// does: no data is inconclusive; a true failure condition fails; with a
// success condition, true succeeds and false fails unless a failure
// condition was given (then it is inconclusive); with only a failure
// condition, false succeeds. A condition that cannot be evaluated on this
// answer (an index past the series) is an error measurement.
func judge(success, failure *vm.Program, res contracts.MetricsResult) (string, error) {
	if len(res.Series) == 0 {
		return contracts.AnalysisInconclusive, nil
	}
	env := envOf(res)
	run := func(p *vm.Program) (bool, error) {
		out, err := expr.Run(p, env)
		if err != nil {
			return false, fmt.Errorf("evaluate the condition: %w", err)
		}
		b, _ := out.(bool)
		return b, nil
	}
	if failure != nil {
		failed, err := run(failure)
		if err != nil {
			return contracts.AnalysisError, err
		}
		if failed {
			return contracts.AnalysisFailed, nil
		}
	}
	if success == nil {
		return contracts.AnalysisSuccessful, nil
	}
	ok, err := run(success)
	switch {
	case err != nil:
		return contracts.AnalysisError, err
	case ok:
		return contracts.AnalysisSuccessful, nil
	case failure != nil:
		return contracts.AnalysisInconclusive, nil
	}
	return contracts.AnalysisFailed, nil
}
