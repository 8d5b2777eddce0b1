package sonarqube

import (
	"fmt"
	"time"
)

// ApplyParams sets the collector's options from the sonarqube gate's
// params (params.sonarqube in gatehouse.yaml): report_task (a path, made
// absolute by resolve, e.g. relative to the config file), timeout and
// poll_interval ("300s", "5m" or a number of seconds). Params the gate
// itself reads (allow_warn, max_new_issues) are left alone.
func (c *Collector) ApplyParams(params map[string]any, resolve func(string) string) error {
	switch p := params["report_task"].(type) {
	case nil:
	case string:
		if p != "" {
			if resolve != nil {
				p = resolve(p)
			}
			c.ReportTask = p
		}
	default:
		return fmt.Errorf("params.sonarqube.report_task is %T: want the path of report-task.txt", p)
	}
	var err error
	if c.Timeout, err = paramDuration(params, "timeout", c.Timeout); err != nil {
		return err
	}
	if c.PollInterval, err = paramDuration(params, "poll_interval", c.PollInterval); err != nil {
		return err
	}
	return nil
}

// paramDuration reads params[key]: "90s", "5m" or a number of seconds;
// absent keeps def.
func paramDuration(params map[string]any, key string, def time.Duration) (time.Duration, error) {
	var d time.Duration
	switch v := params[key].(type) {
	case nil:
		return def, nil
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("params.sonarqube.%s %q: want a duration like \"300s\" or \"5m\"", key, v)
		}
	case int:
		d = time.Duration(v) * time.Second
	case int64:
		d = time.Duration(v) * time.Second
	case uint64:
		if v > 24*3600 {
			v = 24*3600 + 1
		}
		d = time.Duration(v) * time.Second
	case float64:
		if v > 24*3600 {
			v = 24*3600 + 1
		}
		d = time.Duration(v * float64(time.Second))
	default:
		return 0, fmt.Errorf("params.sonarqube.%s is %T: want a duration like \"300s\" or a number of seconds", key, v)
	}
	if d <= 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("params.sonarqube.%s is %v: want more than 0 and at most 24h", key, d)
	}
	return d, nil
}
