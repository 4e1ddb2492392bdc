//! Burn network definitions: the multi-layer perceptron for tabular rows and
//! a small convolutional network for image-shaped rows (digits' 8×8 pixels).
//! The architecture ([`NetSpec`] plus input and output widths) is saved in
//! `model.json`, so a model folder rebuilds the same module before loading
//! its safetensors weights.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Non-linearity between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Relu,
    Gelu,
    Tanh,
    Sigmoid,
    LeakyRelu,
}

impl Activation {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Gelu => activation::gelu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Sigmoid => activation::sigmoid(x),
            Activation::LeakyRelu => activation::leaky_relu(x, 0.01),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::LeakyRelu => "leaky_relu",
        }
    }
}

fn default_hidden() -> Vec<usize> {
    vec![64, 64]
}

fn default_channels() -> Vec<usize> {
    vec![16, 32]
}

fn default_kernel() -> usize {
    3
}

fn default_dense() -> usize {
    64
}

/// A multi-layer perceptron: `hidden` fully connected layers, each followed
/// by the activation and dropout, then a linear output layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpSpec {
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default)]
    pub dropout: f64,
}

impl Default for MlpSpec {
    fn default() -> Self {
        MlpSpec {
            hidden: default_hidden(),
            activation: Activation::Relu,
            dropout: 0.0,
        }
    }
}

/// A convolutional network for rows that are images: each input row is
/// `height × width` pixels in row-major order (one channel). Convolutions
/// keep the size ("same" padding), a 2×2 max-pool follows the last one, then
/// one dense layer and the output layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnnSpec {
    /// `[height, width]`; when absent the row must be a square number of pixels.
    #[serde(default)]
    pub image: Option<[usize; 2]>,
    #[serde(default = "default_channels")]
    pub channels: Vec<usize>,
    #[serde(default = "default_kernel")]
    pub kernel: usize,
    #[serde(default = "default_dense")]
    pub dense: usize,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default)]
    pub dropout: f64,
}

impl Default for CnnSpec {
    fn default() -> Self {
        CnnSpec {
            image: None,
            channels: default_channels(),
            kernel: default_kernel(),
            dense: default_dense(),
            activation: Activation::Relu,
            dropout: 0.0,
        }
    }
}

/// Which network, with its hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetSpec {
    Mlp(MlpSpec),
    Cnn(CnnSpec),
}

impl NetSpec {
    pub fn name(&self) -> &'static str {
        match self {
            NetSpec::Mlp(_) => "mlp",
            NetSpec::Cnn(_) => "cnn",
        }
    }

    /// Hyperparameters as (name, value) pairs, for run tracking.
    pub fn params(&self) -> Vec<(String, String)> {
        let list = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        match self {
            NetSpec::Mlp(s) => vec![
                ("hidden".into(), list(&s.hidden)),
                ("activation".into(), s.activation.name().into()),
                ("dropout".into(), s.dropout.to_string()),
            ],
            NetSpec::Cnn(s) => vec![
                (
                    "image".into(),
                    s.image.map_or("square".into(), |[h, w]| format!("{h}x{w}")),
                ),
                ("channels".into(), list(&s.channels)),
                ("kernel".into(), s.kernel.to_string()),
                ("dense".into(), s.dense.to_string()),
                ("activation".into(), s.activation.name().into()),
                ("dropout".into(), s.dropout.to_string()),
            ],
        }
    }
}

/// Everything needed to rebuild a network before loading its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub spec: NetSpec,
    pub inputs: usize,
    pub outputs: usize,
}

impl Architecture {
    /// Checks the shapes make sense (so that building cannot panic).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModelError::Unsupported(m));
        if self.inputs == 0 || self.outputs == 0 {
            return bad("a network needs at least one input and one output".into());
        }
        match &self.spec {
            NetSpec::Mlp(s) => {
                if s.hidden.contains(&0) {
                    return bad("hidden layer sizes must be positive".into());
                }
                if !(0.0..1.0).contains(&s.dropout) {
                    return bad(format!("dropout must be in [0, 1), got {}", s.dropout));
                }
            }
            NetSpec::Cnn(s) => {
                let [h, w] = self.image_shape()?;
                if h < 2 || w < 2 {
                    return bad(format!(
                        "a {h}x{w} image is too small for a CNN (2x2 pooling)"
                    ));
                }
                if s.channels.is_empty() || s.channels.contains(&0) || s.kernel == 0 || s.dense == 0
                {
                    return bad("CNN channels, kernel and dense sizes must be positive".into());
                }
                if s.kernel % 2 == 0 {
                    return bad(format!(
                        "the CNN kernel must be odd (\"same\" padding), got {}",
                        s.kernel
                    ));
                }
                if !(0.0..1.0).contains(&s.dropout) {
                    return bad(format!("dropout must be in [0, 1), got {}", s.dropout));
                }
            }
        }
        Ok(())
    }

    fn image_shape(&self) -> Result<[usize; 2]> {
        let NetSpec::Cnn(spec) = &self.spec else {
            return Err(ModelError::Unsupported("not a CNN".into()));
        };
        match spec.image {
            Some([h, w]) if h * w == self.inputs => Ok([h, w]),
            Some([h, w]) => Err(ModelError::Unsupported(format!(
                "the CNN image is {h}x{w} = {} pixels but rows have {} features",
                h * w,
                self.inputs
            ))),
            None => {
                let side = (self.inputs as f64).sqrt().round() as usize;
                if side * side == self.inputs {
                    Ok([side, side])
                } else {
                    Err(ModelError::Unsupported(format!(
                        "rows have {} features, which is not a square image; set `image = [height, width]`",
                        self.inputs
                    )))
                }
            }
        }
    }

    /// Builds the network with fresh weights on `device`.
    pub fn build(&self, device: &Device) -> Result<Net> {
        self.validate()?;
        Ok(match &self.spec {
            NetSpec::Mlp(spec) => Net::Mlp(Mlp::new(spec, self.inputs, self.outputs, device)),
            NetSpec::Cnn(spec) => {
                Net::Cnn(Cnn::new(spec, self.image_shape()?, self.outputs, device))
            }
        })
    }
}

/// A network of either kind, as one Burn module. (One lives per model, so
/// the size difference of the variants does not matter.)
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Net {
    Mlp(Mlp),
    Cnn(Cnn),
}

impl Net {
    /// The plain-Rust copy of an MLP for small batches (see `dense.rs`);
    /// `None` for CNNs and GELU nets, which always run on Burn.
    pub fn dense(&self) -> Option<crate::dense::DenseMlp> {
        match self {
            Net::Mlp(mlp) => mlp.dense(),
            Net::Cnn(_) => None,
        }
    }

    /// The MLP inside, for code that works layer by layer (the trainer's
    /// hand-written backward pass); `None` for a CNN.
    pub fn as_mlp(&self) -> Option<&Mlp> {
        match self {
            Net::Mlp(mlp) => Some(mlp),
            Net::Cnn(_) => None,
        }
    }

    /// Rows × inputs in, rows × outputs (logits or values) out.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Net::Mlp(mlp) => mlp.forward(x),
            Net::Cnn(cnn) => cnn.forward(x),
        }
    }
}

#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Vec<Linear>,
    output: Linear,
    dropout: Dropout,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    fn new(spec: &MlpSpec, inputs: usize, outputs: usize, device: &Device) -> Self {
        let mut width = inputs;
        let mut hidden = Vec::with_capacity(spec.hidden.len());
        for &size in &spec.hidden {
            hidden.push(LinearConfig::new(width, size).init(device));
            width = size;
        }
        Mlp {
            hidden,
            output: LinearConfig::new(width, outputs).init(device),
            dropout: DropoutConfig::new(spec.dropout).init(),
            activation: spec.activation,
        }
    }

    /// The hidden layers, first to last; each is followed by the activation
    /// and dropout.
    pub fn hidden_layers(&self) -> &[Linear] {
        &self.hidden
    }

    /// The linear output layer (logits or values).
    pub fn output_layer(&self) -> &Linear {
        &self.output
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The probability that dropout zeroes a hidden unit while training.
    pub fn dropout_probability(&self) -> f64 {
        self.dropout.prob
    }

    fn dense(&self) -> Option<crate::dense::DenseMlp> {
        if self.activation == Activation::Gelu {
            return None;
        }
        let layer = |linear: &Linear| {
            let [inputs, outputs] = linear.weight.val().dims();
            let weight = linear.weight.val().into_data().try_to_vec::<f32>().ok()?;
            let bias = match &linear.bias {
                Some(bias) => bias.val().into_data().try_to_vec::<f32>().ok()?,
                None => vec![0.0; outputs],
            };
            Some(crate::dense::DenseLayer {
                inputs,
                outputs,
                weight,
                bias,
            })
        };
        Some(crate::dense::DenseMlp {
            hidden: self.hidden.iter().map(layer).collect::<Option<Vec<_>>>()?,
            output: layer(&self.output)?,
            activation: self.activation,
        })
    }

    fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for layer in &self.hidden {
            x = self
                .dropout
                .forward(self.activation.apply(layer.forward(x)));
        }
        self.output.forward(x)
    }
}

#[derive(Module, Debug)]
pub struct Cnn {
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
    dense: Linear,
    output: Linear,
    dropout: Dropout,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    image: [usize; 2],
}

impl Cnn {
    fn new(spec: &CnnSpec, image: [usize; 2], outputs: usize, device: &Device) -> Self {
        let mut channels = 1;
        let mut convs = Vec::with_capacity(spec.channels.len());
        for &out in &spec.channels {
            convs.push(
                Conv2dConfig::new([channels, out], [spec.kernel, spec.kernel])
                    .with_padding(PaddingConfig2d::Same)
                    .init(device),
            );
            channels = out;
        }
        let flat = channels * (image[0] / 2) * (image[1] / 2);
        Cnn {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dense: LinearConfig::new(flat, spec.dense).init(device),
            output: LinearConfig::new(spec.dense, outputs).init(device),
            dropout: DropoutConfig::new(spec.dropout).init(),
            activation: spec.activation,
            image,
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [rows, _] = x.dims();
        let [h, w] = self.image;
        let mut x: Tensor<4> = x.reshape([rows, 1, h, w]);
        for conv in &self.convs {
            x = self.activation.apply(conv.forward(x));
        }
        let x: Tensor<2> = self.pool.forward(x).flatten(1, 3);
        let x = self
            .dropout
            .forward(self.activation.apply(self.dense.forward(x)));
        self.output.forward(x)
    }
}
