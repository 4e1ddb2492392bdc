//! A content digest of a frame, recorded with a run's dataset input so that
//! two runs can be seen to have used the same data.

use sha2::{Digest, Sha256};

use crate::frame::{Frame, Values};

/// SHA-256 over column names, kinds and values, as 16 hex characters. Row
/// order matters; the file format does not (CSV and Parquet of the same data
/// agree).
pub fn digest(frame: &Frame) -> String {
    let mut hasher = Sha256::new();
    for column in frame.columns() {
        hasher.update((column.name.len() as u64).to_le_bytes());
        hasher.update(column.name.as_bytes());
        match &column.values {
            Values::Numeric(values) => {
                hasher.update([0u8]);
                for x in values {
                    // One bit pattern for every NaN.
                    let bits = if x.is_nan() {
                        f64::NAN.to_bits()
                    } else {
                        x.to_bits()
                    };
                    hasher.update(bits.to_le_bytes());
                }
            }
            Values::Categorical(values) => {
                hasher.update([1u8]);
                for value in values.iter() {
                    match value {
                        None => hasher.update([0u8]),
                        Some(text) => {
                            hasher.update([1u8]);
                            hasher.update((text.len() as u64).to_le_bytes());
                            hasher.update(text.as_bytes());
                        }
                    }
                }
            }
        }
    }
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Column;

    #[test]
    fn digest_follows_content() {
        let a = Frame::new(vec![Column::numeric("x", vec![1.0, f64::NAN])]).unwrap();
        let b = Frame::new(vec![Column::numeric("x", vec![1.0, -f64::NAN])]).unwrap();
        let c = Frame::new(vec![Column::numeric("x", vec![1.0, 2.0])]).unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&c));
        assert_eq!(digest(&a).len(), 16);
    }
}
