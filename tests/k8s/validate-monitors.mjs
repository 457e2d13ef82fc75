// Validates Prometheus Operator resources (ServiceMonitor, PodMonitor) against the schemas
// generated from the operator's own CRDs (npm: @kubernetes-models/prometheus-operator),
// which kubernetes-validate does not know. Exits 1 and says why at the first invalid one.
// An ES module resolves its imports from where it lies: tests/container.sh copies it next
// to the node_modules that scripts/install-deps.sh fills (target/tools/k8s-npm).
//   node validate-monitors.mjs FILE.yaml...
import fs from "node:fs";
import { loadAll } from "js-yaml";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";

const kinds = { ServiceMonitor, PodMonitor };
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc || doc.apiVersion !== "monitoring.coreos.com/v1") continue;
    const Kind = kinds[doc.kind];
    if (!Kind) {
      console.error(`${file}: no schema for ${doc.kind}`);
      process.exit(1);
    }
    try {
      new Kind(doc).validate();
    } catch (e) {
      console.error(`${file}: ${doc.kind}/${doc.metadata?.name} is invalid: ${e.message}`);
      process.exit(1);
    }
    console.log(`${file}: ${doc.kind}/${doc.metadata.name} valid`);
    checked++;
  }
}
if (checked === 0) {
  console.error("no ServiceMonitor or PodMonitor found");
  process.exit(1);
}
