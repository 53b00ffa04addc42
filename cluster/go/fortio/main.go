// The load generator of manifests/load's Job for the test node's loop
// (docs/test-node.md): fortio's HTTP load engine (fhttp.RunHTTPTest, with
// periodic's constant-rate runner) behind the `load` command line the Job
// passes. fortio's own main package (fortio.org/fortio/cli) cannot be built
// here: it imports grol.io/grol, which the Go module proxy does not serve.
// The report printed is fortio's own ("Code 200 : N (100.0 %)" and the
// latency histogram), so the Job's log reads as the release image's does;
// unlike fortio's, it exits 1 when any answer has an HTTP status but 200.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "load" {
		fmt.Fprintln(os.Stderr, "usage: fortio load -qps RATE -t DURATION -c CONNECTIONS [-uniform] [-H 'Key: Value']... URL")
		os.Exit(2)
	}
	flags := flag.NewFlagSet("load", flag.ExitOnError)
	qps := flags.Float64("qps", 8, "requests per second, shared by all connections")
	duration := flags.Duration("t", 5*time.Second, "how long to send")
	connections := flags.Int("c", 4, "connections (fortio's threads)")
	uniform := flags.Bool("uniform", false, "spread the connections' starts over one period")
	// fortio's -H: `Key: Value`, repeatable; a Host header sets the
	// request's host, as the KEDA HTTP add-on's interceptor routes by it.
	var headers []string
	flags.Func("H", "an extra header, `Key: Value` (repeatable)", func(header string) error {
		headers = append(headers, header)
		return nil
	})
	_ = flags.Parse(os.Args[2:])
	if flags.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "fortio load: one URL is needed")
		os.Exit(2)
	}
	options := fhttp.HTTPRunnerOptions{
		RunnerOptions: periodic.RunnerOptions{
			QPS:        *qps,
			Duration:   *duration,
			NumThreads: *connections,
			Uniform:    *uniform,
			Out:        os.Stdout,
			// fortio's command's default `-p`.
			Percentiles: []float64{50, 75, 90, 99, 99.9},
		},
		// A refused or reset connection is a result to count, not a reason
		// to stop: the loop's assertion is that there are none.
		AllowInitialErrors: true,
	}
	options.URL = flags.Arg(0)
	for _, header := range headers {
		if err := options.AddAndValidateExtraHeader(header); err != nil {
			fmt.Fprintln(os.Stderr, "fortio load:", err)
			os.Exit(2)
		}
	}
	results, err := fhttp.RunHTTPTest(&options)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fortio load:", err)
		os.Exit(1)
	}
	// An HTTP error status fails the Job. A socket error (fortio's code -1)
	// is counted in the report and judged by the test that reads it: a pod
	// deleted under load may take the requests in flight on it along.
	for code, count := range results.RetCodes {
		if code != 200 && code != -1 && count > 0 {
			fmt.Fprintf(os.Stderr, "fortio load: %d answers with code %d\n", count, code)
			os.Exit(1)
		}
	}
}
