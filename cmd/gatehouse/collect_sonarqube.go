package main

import (
	"fmt"
	"os"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/scanners/sonarqube"
)

// The SonarQube collector reads SONAR_TOKEN, SONAR_HOST_URL and
// SONAR_ROOT_CERT like sonarqube-quality-gate-action, and the sonarqube
// gate's params report_task (path) and timeout (e.g. "300s").
func init() {
	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		params := env.Config.GateParams(env.Env, "sonarqube")
		c := &sonarqube.Collector{
			Token:   os.Getenv("SONAR_TOKEN"),
			HostURL: os.Getenv("SONAR_HOST_URL"),
		}
		if p, ok := params["report_task"].(string); ok && p != "" {
			c.ReportTask = env.Config.Path(p)
		}
		if s, ok := params["timeout"].(string); ok && s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("params.sonarqube.timeout %q: %w", s, err)
			}
			c.Timeout = d
		}
		hc, err := sonarqube.NewHTTPClient(os.Getenv("SONAR_ROOT_CERT"))
		if err != nil {
			return nil, err
		}
		c.HTTP = hc
		return c, nil
	})
}
