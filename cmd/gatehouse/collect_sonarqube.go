package main

import (
	"os"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/scanners/sonarqube"
)

// The SonarQube collector reads SONAR_TOKEN, SONAR_HOST_URL and
// SONAR_ROOT_CERT like sonarqube-quality-gate-action, and the sonarqube
// gate's params report_task, timeout and poll_interval.
func init() {
	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		c := &sonarqube.Collector{
			Token:   os.Getenv("SONAR_TOKEN"),
			HostURL: os.Getenv("SONAR_HOST_URL"),
		}
		if err := c.ApplyParams(env.Config.GateParams(env.Env, "sonarqube"), env.Config.Path); err != nil {
			return nil, err
		}
		hc, err := sonarqube.NewHTTPClient(os.Getenv("SONAR_ROOT_CERT"))
		if err != nil {
			return nil, err
		}
		c.HTTP = hc
		return c, nil
	})
}
