//! An MLP's gradients written out by hand, on both CPU cores.
//!
//! Why not burn-autodiff here: for a 64-64 MLP on a batch of 256 rows a step
//! is a few hundred microseconds of arithmetic, and Burn's per-operation
//! cost (graph registration under burn-autodiff 0.22's global
//! `GraphMutexClient` lock, a fresh allocation and often a copy per
//! operation in burn-flex) was most of each step; two threads computing
//! halves of a batch through Burn's tensors ran no faster than one. An MLP's
//! backward pass is three matrix products per layer, so on the CPU it is
//! written out below with ndarray (matrixmultiply's kernels) into
//! per-step buffers, each half of the batch on its own thread.
//!
//! Burn still owns everything else: the network's parameters, and the very
//! optimizer the autodiff path uses, which receives these gradients by
//! parameter id. Adam/AdamW/SGD state, weight decay, learning-rate
//! schedules and checkpoints are the same either way. The tests check one
//! step against burn-autodiff's for every activation this path takes.
//!
//! GELU (no `erf` in std), the CNN and every network on a GPU (where a step
//! is one queue of kernels and threads buy nothing) keep the autodiff path.

use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip, s};
use smelt_models::dense::activate;
use smelt_models::nets::{Activation, Mlp, NetSpec};

/// Below this many rows a batch is not split: handing half to the helper
/// thread would cost more than that half's arithmetic.
const MIN_ROWS_TO_SPLIT: usize = 64;

/// What one training batch asks of the network.
pub(crate) enum BatchTarget<'a> {
    /// Class codes, one per row, out of `classes`.
    Classes { codes: &'a [i64], classes: usize },
    /// Standardised values, one per row (the network has one output).
    Values(&'a [f32]),
}

/// One step's result: gradients keyed by parameter, and the batch's mean
/// loss and raw outputs as tensors on the inner device.
pub(crate) struct StepGradients {
    pub(crate) gradients: GradientsParams,
    pub(crate) loss: Tensor<1>,
    pub(crate) outputs: Tensor<2>,
}

/// One layer's current values, copied out of Burn for this step.
struct Layer {
    /// `[inputs, outputs]`, Burn's layout.
    weight: Array2<f32>,
    bias: Option<Array1<f32>>,
}

/// Sums over one part of a batch, already divided by the whole batch's
/// rows, so the parts add up to the batch's means.
struct PartGradients {
    weights: Vec<Array2<f32>>,
    biases: Vec<Array1<f32>>,
    loss_sum: f64,
    outputs: Array2<f32>,
}

/// Whether the hand-written pass trains a network of `spec` on `device`.
pub(crate) fn applies(spec: &NetSpec, device: &Device) -> bool {
    matches!(spec, NetSpec::Mlp(mlp) if mlp.activation != Activation::Gelu)
        && device.clone().inner() == Device::flex()
}

/// A second thread that computes the second half of every batch for the
/// length of one training run (a thread started per step cost about a
/// tenth of the step). It waits on a channel between steps, taking no CPU
/// while the first thread updates the weights.
pub(crate) struct HalfWorker {
    jobs: Option<mpsc::Sender<HalfJob>>,
    results: mpsc::Receiver<PartGradients>,
    thread: Option<JoinHandle<()>>,
}

/// The second half of a batch, owned, for the helper thread.
struct HalfJob {
    layers: Arc<[Layer]>,
    activation: Activation,
    x: Array2<f32>,
    masks: Vec<Option<Array2<f32>>>,
    target: OwnedTarget,
    scale: f32,
}

enum OwnedTarget {
    Classes(Vec<i64>, usize),
    Values(Vec<f32>),
}

impl HalfJob {
    fn run(&self) -> PartGradients {
        let masks: Vec<Option<ArrayView2<f32>>> = self
            .masks
            .iter()
            .map(|m| m.as_ref().map(|m| m.view()))
            .collect();
        let target = match &self.target {
            OwnedTarget::Classes(codes, classes) => BatchTarget::Classes {
                codes,
                classes: *classes,
            },
            OwnedTarget::Values(values) => BatchTarget::Values(values),
        };
        part_gradients(
            &self.layers,
            self.activation,
            self.x.view(),
            &masks,
            &target,
            self.scale,
        )
    }
}

impl HalfWorker {
    /// A helper when this machine has a second core to give it, else `None`.
    pub(crate) fn start_if_useful() -> Option<HalfWorker> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores >= 2 {
            HalfWorker::start()
        } else {
            None
        }
    }

    fn start() -> Option<HalfWorker> {
        let (jobs, inbox) = mpsc::channel::<HalfJob>();
        let (outbox, results) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("smelt-mlp-half".into())
            .spawn(move || {
                for job in inbox {
                    if outbox.send(job.run()).is_err() {
                        return;
                    }
                }
            })
            .ok()?;
        Some(HalfWorker {
            jobs: Some(jobs),
            results,
            thread: Some(thread),
        })
    }
}

impl Drop for HalfWorker {
    fn drop(&mut self) {
        // Closing the channel ends the helper's loop.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Forward and backward of one batch through `mlp`. `inputs` is the batch
/// row-major, `rows × cols`; with a `helper`, the second half of a batch of
/// [`MIN_ROWS_TO_SPLIT`] rows or more is computed there.
pub(crate) fn step(
    mlp: &Mlp,
    inputs: &[f32],
    rows: usize,
    cols: usize,
    target: &BatchTarget<'_>,
    helper: Option<&HalfWorker>,
) -> StepGradients {
    let burn_layers: Vec<&Linear> = mlp
        .hidden_layers()
        .iter()
        .chain([mlp.output_layer()])
        .collect();
    let device = burn_layers[0].weight.val().device().inner();
    // Layers are read and dropout masks drawn in the order Burn's forward
    // pass does both (a parameter is initialised, from the device's seeded
    // generator, when first read): the same seed gives the autodiff path's
    // weights and masks, whichever path trains and however a batch is split.
    let probability = mlp.dropout_probability();
    let mut layers = Vec::with_capacity(burn_layers.len());
    let mut masks: Vec<Option<Array2<f32>>> = Vec::with_capacity(burn_layers.len() - 1);
    for (idx, linear) in burn_layers.iter().enumerate() {
        let layer = copy_layer(linear);
        if idx + 1 < burn_layers.len() {
            masks.push((probability > 0.0).then(|| {
                let keep = 1.0 - probability;
                let width = layer.weight.ncols();
                let mask =
                    Tensor::<2>::random([rows, width], Distribution::Bernoulli(keep), &device)
                        .mul_scalar(1.0 / keep);
                let values = mask.into_data().try_to_vec::<f32>().expect("f32 mask");
                Array2::from_shape_vec((rows, width), values).expect("mask shape")
            }));
        }
        layers.push(layer);
    }
    let layers: Arc<[Layer]> = layers.into();
    let x = ArrayView2::from_shape((rows, cols), inputs).expect("batch shape");
    let scale = 1.0 / rows as f32;
    let part = |start: usize, end: usize| {
        let masks: Vec<Option<ArrayView2<f32>>> = masks
            .iter()
            .map(|m| m.as_ref().map(|m| m.slice(s![start..end, ..])))
            .collect();
        part_gradients(
            &layers,
            mlp.activation(),
            x.slice(s![start..end, ..]),
            &masks,
            &target.slice(start, end),
            scale,
        )
    };
    let half = rows / 2;
    // The helper that took the batch's second half, if one did.
    let helper = helper
        .filter(|_| rows >= MIN_ROWS_TO_SPLIT)
        .filter(|helper| {
            let job = HalfJob {
                layers: Arc::clone(&layers),
                activation: mlp.activation(),
                x: x.slice(s![half.., ..]).to_owned(),
                masks: masks
                    .iter()
                    .map(|m| m.as_ref().map(|m| m.slice(s![half.., ..]).to_owned()))
                    .collect(),
                target: match target.slice(half, rows) {
                    BatchTarget::Classes { codes, classes } => {
                        OwnedTarget::Classes(codes.to_vec(), classes)
                    }
                    BatchTarget::Values(values) => OwnedTarget::Values(values.to_vec()),
                },
                scale,
            };
            helper
                .jobs
                .as_ref()
                .is_some_and(|jobs| jobs.send(job).is_ok())
        });
    let total = match helper {
        Some(helper) => {
            let mut first = part(0, half);
            // A helper that died (only a bug could kill it) costs speed, not the step.
            let second = helper.results.recv().unwrap_or_else(|_| part(half, rows));
            for (sum, g) in first.weights.iter_mut().zip(&second.weights) {
                *sum += g;
            }
            for (sum, g) in first.biases.iter_mut().zip(&second.biases) {
                *sum += g;
            }
            first.loss_sum += second.loss_sum;
            first
                .outputs
                .append(Axis(0), second.outputs.view())
                .expect("same widths");
            first
        }
        None => part(0, rows),
    };

    let mut gradients = GradientsParams::new();
    for ((layer, weight), bias) in burn_layers.iter().zip(total.weights).zip(total.biases) {
        gradients.register(layer.weight.id, to_tensor2(weight, &device));
        if let Some(param) = &layer.bias {
            let bias =
                Tensor::<1>::from_data(TensorData::new(bias.to_vec(), [bias.len()]), &device);
            gradients.register(param.id, bias);
        }
    }
    StepGradients {
        gradients,
        loss: Tensor::<1>::from_data(
            TensorData::new(vec![(total.loss_sum / rows as f64) as f32], [1]),
            &device,
        ),
        outputs: to_tensor2(total.outputs, &device),
    }
}

fn copy_layer(linear: &Linear) -> Layer {
    let weight = linear.weight.val();
    let [inputs, outputs] = weight.dims();
    let values = weight.into_data().try_to_vec::<f32>().expect("f32 weights");
    Layer {
        weight: Array2::from_shape_vec((inputs, outputs), values).expect("weight shape"),
        bias: linear
            .bias
            .as_ref()
            .map(|b| Array1::from(b.val().into_data().try_to_vec::<f32>().expect("f32 bias"))),
    }
}

fn to_tensor2(array: Array2<f32>, device: &Device) -> Tensor<2> {
    let shape = [array.nrows(), array.ncols()];
    let values = if array.is_standard_layout() {
        array.into_raw_vec_and_offset().0
    } else {
        array.iter().copied().collect()
    };
    Tensor::<2>::from_data(TensorData::new(values, shape), device)
}

impl BatchTarget<'_> {
    fn slice(&self, start: usize, end: usize) -> BatchTarget<'_> {
        match self {
            BatchTarget::Classes { codes, classes } => BatchTarget::Classes {
                codes: &codes[start..end],
                classes: *classes,
            },
            BatchTarget::Values(values) => BatchTarget::Values(&values[start..end]),
        }
    }
}

/// What the forward pass keeps for the backward one, per hidden layer.
struct Saved {
    /// After the activation, before dropout (the derivatives of ReLU,
    /// tanh and sigmoid are functions of it).
    post: Array2<f32>,
    /// What the next layer received (after dropout).
    output: Array2<f32>,
}

fn part_gradients(
    layers: &[Layer],
    activation: Activation,
    x: ArrayView2<f32>,
    masks: &[Option<ArrayView2<f32>>],
    target: &BatchTarget<'_>,
    scale: f32,
) -> PartGradients {
    let rows = x.nrows();
    let (hidden, output_layer) = layers.split_at(layers.len() - 1);
    let mut saved: Vec<Saved> = Vec::with_capacity(hidden.len());
    for (layer, mask) in hidden.iter().zip(masks) {
        let mut post = match saved.last() {
            Some(below) => affine(below.output.view(), layer),
            None => affine(x.view(), layer),
        };
        post.mapv_inplace(|v| activate(activation, v));
        let output = match mask {
            Some(mask) => &post * mask,
            None => post.clone(),
        };
        saved.push(Saved { post, output });
    }
    let outputs = match saved.last() {
        Some(below) => affine(below.output.view(), &output_layer[0]),
        None => affine(x.view(), &output_layer[0]),
    };

    // d(loss)/d(outputs), divided by the whole batch's rows.
    let mut grad = outputs.clone();
    let mut loss_sum = 0.0f64;
    match target {
        BatchTarget::Classes { codes, .. } => {
            for (mut row, &code) in grad.rows_mut().into_iter().zip(codes.iter()) {
                let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                row.mapv_inplace(|v| (v - max).exp());
                let sum: f32 = row.sum();
                loss_sum -= f64::from((row[code as usize] / sum).ln());
                row.mapv_inplace(|v| v / sum * scale);
                row[code as usize] -= scale;
            }
        }
        BatchTarget::Values(values) => {
            for (mut row, &y) in grad.rows_mut().into_iter().zip(values.iter()) {
                let diff = row[0] - y;
                loss_sum += f64::from(diff * diff);
                row[0] = 2.0 * diff * scale;
            }
        }
    }

    let mut weight_grads = Vec::with_capacity(layers.len());
    let mut bias_grads = Vec::with_capacity(layers.len());
    for idx in (0..layers.len()).rev() {
        let input = if idx == 0 {
            x.view()
        } else {
            saved[idx - 1].output.view()
        };
        let layer = &layers[idx];
        let mut weight_grad = Array2::<f32>::zeros(layer.weight.raw_dim());
        general_mat_mul(1.0, &input.t(), &grad, 0.0, &mut weight_grad);
        weight_grads.push(weight_grad);
        bias_grads.push(grad.sum_axis(Axis(0)));
        if idx == 0 {
            break;
        }
        // Back through the previous hidden layer's dropout and activation.
        let mut below = Array2::<f32>::zeros((rows, layer.weight.nrows()));
        general_mat_mul(1.0, &grad, &layer.weight.t(), 0.0, &mut below);
        if let Some(mask) = &masks[idx - 1] {
            below *= mask;
        }
        Zip::from(&mut below)
            .and(&saved[idx - 1].post)
            .for_each(|g, &post| *g *= derivative(activation, post));
        grad = below;
    }
    weight_grads.reverse();
    bias_grads.reverse();
    PartGradients {
        weights: weight_grads,
        biases: bias_grads,
        loss_sum,
        outputs,
    }
}

/// `x · weight + bias`.
fn affine(x: ArrayView2<f32>, layer: &Layer) -> Array2<f32> {
    let mut out = match &layer.bias {
        Some(bias) => bias
            .broadcast((x.nrows(), bias.len()))
            .expect("bias width")
            .to_owned(),
        None => Array2::zeros((x.nrows(), layer.weight.ncols())),
    };
    general_mat_mul(1.0, &x, &layer.weight, 1.0, &mut out);
    out
}

/// The activation's derivative, from its output `y = f(x)`.
fn derivative(activation: Activation, y: f32) -> f32 {
    match activation {
        Activation::Relu => f32::from(y > 0.0),
        // The output has the input's sign.
        Activation::LeakyRelu => {
            if y >= 0.0 {
                1.0
            } else {
                0.01
            }
        }
        Activation::Tanh => 1.0 - y * y,
        Activation::Sigmoid => y * (1.0 - y),
        Activation::Gelu => unreachable!("GELU nets train through burn-autodiff"),
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
    use smelt_models::nets::{Architecture, MlpSpec, Net};

    use super::*;

    const ROWS: usize = 96;
    const COLS: usize = 5;

    fn spec(activation: Activation) -> NetSpec {
        NetSpec::Mlp(MlpSpec {
            activation,
            ..MlpSpec::default()
        })
    }

    /// A helper thread, started even on a one-core machine.
    fn helper(split: bool) -> Option<HalfWorker> {
        split.then(|| HalfWorker::start().expect("a thread"))
    }

    /// A net whose parameters are initialised (Burn draws them lazily, at
    /// the first read, from the device's generator).
    fn net(activation: Activation, dropout: f64, outputs: usize) -> Net {
        let device = Device::flex().autodiff();
        device.seed(7);
        let net = Architecture {
            spec: NetSpec::Mlp(MlpSpec {
                hidden: vec![16, 8],
                activation,
                dropout,
            }),
            inputs: COLS,
            outputs,
        }
        .build(&device)
        .unwrap();
        let mlp = net.as_mlp().unwrap();
        for layer in mlp.hidden_layers().iter().chain([mlp.output_layer()]) {
            let _ = layer.weight.val();
            let _ = layer.bias.as_ref().map(|b| b.val());
        }
        net
    }

    fn inputs() -> Vec<f32> {
        (0..ROWS * COLS)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect()
    }

    /// Every parameter's gradient, flattened, in layer order.
    fn flatten(net: &Net, gradients: &GradientsParams) -> Vec<Vec<f32>> {
        let mlp = net.as_mlp().unwrap();
        let mut out = Vec::new();
        for layer in mlp.hidden_layers().iter().chain([mlp.output_layer()]) {
            let weight = gradients
                .get::<2>(layer.weight.id)
                .expect("weight gradient");
            out.push(weight.into_data().try_to_vec::<f32>().unwrap());
            let bias_id = layer.bias.as_ref().unwrap().id;
            let bias = gradients.get::<1>(bias_id).expect("bias gradient");
            out.push(bias.into_data().try_to_vec::<f32>().unwrap());
        }
        out
    }

    fn assert_close(by_hand: &[Vec<f32>], reference: &[Vec<f32>], what: &str) {
        assert_eq!(by_hand.len(), reference.len());
        for (idx, (a, b)) in by_hand.iter().zip(reference).enumerate() {
            assert_eq!(a.len(), b.len(), "{what}: parameter {idx}");
            let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-4 * scale,
                    "{what}: parameter {idx}: {x} by hand, {y} by autodiff"
                );
            }
        }
    }

    #[test]
    fn gradients_match_autodiff_for_every_activation_and_both_tasks() {
        let codes: Vec<i64> = (0..ROWS as i64).map(|r| r % 3).collect();
        let values: Vec<f32> = (0..ROWS).map(|r| (r as f32 / 10.0).sin()).collect();
        let device = Device::flex().autodiff();
        for activation in [
            Activation::Relu,
            Activation::LeakyRelu,
            Activation::Tanh,
            Activation::Sigmoid,
        ] {
            for classification in [true, false] {
                let outputs = if classification { 3 } else { 1 };
                let net = net(activation, 0.0, outputs);
                assert!(applies(&spec(activation), &device));
                let x = Tensor::<2>::from_data(TensorData::new(inputs(), [ROWS, COLS]), &device);
                let output = net.forward(x);
                let loss = if classification {
                    let y = Tensor::<1, Int>::from_data(
                        TensorData::new(codes.clone(), [ROWS]),
                        &device,
                    );
                    CrossEntropyLossConfig::new()
                        .init(&device)
                        .forward(output.clone(), y)
                } else {
                    let y =
                        Tensor::<2>::from_data(TensorData::new(values.clone(), [ROWS, 1]), &device);
                    MseLoss::new().forward(output.clone(), y, Reduction::Mean)
                };
                let reference_loss = loss.clone().inner().into_scalar::<f32>();
                let reference_outputs = output.inner().into_data().try_to_vec::<f32>().unwrap();
                let reference = flatten(&net, &GradientsParams::from_grads(loss.backward(), &net));
                let target = if classification {
                    BatchTarget::Classes {
                        codes: &codes,
                        classes: 3,
                    }
                } else {
                    BatchTarget::Values(&values)
                };
                for split in [false, true] {
                    let what = format!(
                        "{} {} split={split}",
                        activation.name(),
                        if classification {
                            "classifier"
                        } else {
                            "regressor"
                        }
                    );
                    let step = step(
                        net.as_mlp().unwrap(),
                        &inputs(),
                        ROWS,
                        COLS,
                        &target,
                        helper(split).as_ref(),
                    );
                    let loss = step.loss.into_scalar::<f32>();
                    assert!(
                        (loss - reference_loss).abs() <= 1e-5 * reference_loss.abs().max(1.0),
                        "{what}: loss {loss} by hand, {reference_loss} by autodiff"
                    );
                    let outputs = step.outputs.into_data().try_to_vec::<f32>().unwrap();
                    assert_close(&[outputs], std::slice::from_ref(&reference_outputs), &what);
                    assert_close(&flatten(&net, &step.gradients), &reference, &what);
                }
            }
        }
    }

    #[test]
    fn gelu_nets_stay_on_autodiff() {
        let device = Device::flex().autodiff();
        assert!(!applies(&spec(Activation::Gelu), &device));
        assert!(applies(&spec(Activation::Relu), &Device::flex()));
    }

    // The device's generator is one per process: this test seeds it and
    // expects the next draws, which nextest's process per test guarantees.
    #[test]
    fn dropout_matches_autodiff_and_does_not_depend_on_the_split() {
        let codes: Vec<i64> = (0..ROWS as i64).map(|r| r % 2).collect();
        let target = BatchTarget::Classes {
            codes: &codes,
            classes: 2,
        };
        let dropped = net(Activation::Relu, 0.4, 2);
        let device = Device::flex().autodiff();
        device.seed(11);
        let x = Tensor::<2>::from_data(TensorData::new(inputs(), [ROWS, COLS]), &device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(codes.clone(), [ROWS]), &device);
        let loss = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(dropped.forward(x), y);
        let reference = flatten(
            &dropped,
            &GradientsParams::from_grads(loss.backward(), &dropped),
        );
        for split in [false, true] {
            device.seed(11);
            let step = step(
                dropped.as_mlp().unwrap(),
                &inputs(),
                ROWS,
                COLS,
                &target,
                helper(split).as_ref(),
            );
            let by_hand = flatten(&dropped, &step.gradients);
            assert_close(&by_hand, &reference, &format!("dropout, split={split}"));
        }
        // And dropout did something: without it the gradients differ.
        let plain = net(Activation::Relu, 0.0, 2);
        let step = step(
            plain.as_mlp().unwrap(),
            &inputs(),
            ROWS,
            COLS,
            &target,
            None,
        );
        assert_ne!(
            flatten(&plain, &step.gradients)[0],
            reference[0],
            "dropout changed nothing"
        );
    }
}
