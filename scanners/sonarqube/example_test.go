package sonarqube_test

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/scanners/sonarqube"
)

// The offline form: the body of api/qualitygates/project_status becomes
// sonarqube/v1 evidence.
func ExampleParseProjectStatus() {
	ev, err := sonarqube.ParseProjectStatus([]byte(`{"projectStatus":{"status":"ERROR","conditions":[
		{"status":"ERROR","metricKey":"new_coverage","comparator":"LT","errorThreshold":"85","actualValue":"82.5"}]}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Schema, ev.ProjectStatus.Status)
	for _, c := range ev.ProjectStatus.Conditions {
		fmt.Printf("%s %s: %s %s %s\n", c.Status, c.MetricKey, c.ActualValue, c.Comparator, c.ErrorThreshold)
	}
	_, err = sonarqube.ParseProjectStatus([]byte(`{"projectStatus":{"status":"GREEN"}}`))
	fmt.Println(err)
	// Output:
	// sonarqube/v1 ERROR
	// ERROR new_coverage: 82.5 LT 85
	// projectStatus.status "GREEN" is not one of OK, WARN, ERROR, NONE
}

// ParseReportTask reads the key=value file the scanner leaves behind;
// FindReportTask looks for it where the CLI, Maven, Gradle and .NET scanners put it.
func ExampleParseReportTask() {
	rt, err := sonarqube.ParseReportTask([]byte("organization=cyber-dojo\nprojectKey=cyber-dojo_differ\nserverUrl=https://sonarcloud.io\nceTaskId=AZrs5eywBfkZKeU0sde9\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rt.Organization, rt.ProjectKey, rt.ServerURL, rt.CETaskID)
	// Output: cyber-dojo cyber-dojo_differ https://sonarcloud.io AZrs5eywBfkZKeU0sde9
}
