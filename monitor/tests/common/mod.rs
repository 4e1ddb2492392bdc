//! Seeded data for the monitor's tests and benchmarks: xorshift64* uniforms
//! and Box–Muller normals, so no random-number crate is needed and every run
//! sees the same numbers.

/// A deterministic normal generator.
pub struct Generator(pub u64);

impl Generator {
    pub fn normal(&mut self) -> f64 {
        let mut uniform = || {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
            ((bits >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u1, u2) = (uniform(), uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `rows × columns` normals; column `c` has scale `scales[c % len]`,
    /// shifted by `shift` in column 0 only.
    pub fn rows(&mut self, rows: usize, columns: usize, shift: f64, scales: &[f64]) -> Vec<f64> {
        (0..rows * columns)
            .map(|idx| {
                let column = idx % columns;
                let offset = if column == 0 { shift } else { 0.0 };
                offset + scales[column % scales.len()] * self.normal()
            })
            .collect()
    }
}
