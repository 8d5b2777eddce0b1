package main

import (
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/scanners/kfp"
)

// Kubeflow pipelines: `check pipeline:FILE` reads the compiled IR (kfp
// evidence, the kfp gate) and judges every image, model and dataset it
// names as a subject of its own.
func init() {
	registerCollector(func(collectorEnv) (gates.Collector, error) { return kfp.Collector{}, nil })
	expanders[gates.KindPipeline] = kfp.Expand
	unsuppliedEvidence["kfp"] = "kfp evidence is read from the pipeline file itself: name it as the subject (pipeline:FILE)"
}
