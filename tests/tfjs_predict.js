// Load a cnn-tui TF.js export with the real TensorFlow.js layers API and run it (used by
// tests/test_export_models.py when CNN_TUI_TFJS_NODE_MODULES names a node_modules folder holding
// @tensorflow/tfjs-core, @tensorflow/tfjs-layers and @tensorflow/tfjs-backend-cpu).
// usage: node tfjs_predict.js MODEL_DIR INPUT.f32 N H W C  ->  JSON on stdout
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');

async function main() {
  const [dir, input, n, h, w, c] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const doc = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of doc.weightsManifest) {
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  // what tf.loadLayersModel('file://.../model.json') hands the loader, read from the folder
  const handler = {
    load: async () => ({
      modelTopology: doc.modelTopology, weightSpecs: specs, weightData, format: doc.format,
      generatedBy: doc.generatedBy, convertedBy: doc.convertedBy,
      userDefinedMetadata: doc.userDefinedMetadata,
    }),
  };
  const model = await tfl.loadLayersModel(handler, { strict: true });
  const raw = fs.readFileSync(input);
  const x = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4),
                        [+n, +h, +w, +c]);
  const y = model.predict(x);
  process.stdout.write(JSON.stringify({
    output: await y.array(), className: model.getClassName(),
    layers: model.layers.map((l) => l.getClassName()),
    weights: model.weights.map((v) => v.originalName),
  }));
}

main().catch((e) => { console.error(String((e && e.stack) || e)); process.exit(1); });
