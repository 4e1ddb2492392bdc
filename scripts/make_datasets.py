#!/usr/bin/env python3
"""Regenerate Smelt's bundled datasets under datasets/.

Writes, for each dataset, the full table `datasets/<name>.csv` and a fixed
25 % test split `datasets/<name>.train.csv` / `datasets/<name>.test.csv`
(scikit-learn `train_test_split`, random_state=0, stratified on the target for
classification), then `datasets/SHA256SUMS` and `datasets/README.md`.

Nothing is downloaded: the scikit-learn datasets are read from the files that
ship inside the scikit-learn package, and penguins from the CSV that ships
inside the `palmerpenguins` PyPI package (`pip install palmerpenguins`).

Output is deterministic: running the script twice gives byte-identical files.

Usage:  python scripts/make_datasets.py
(Smelt uses the venv at $HOME/.cache/smelt/venv: $HOME/.cache/smelt/venv/bin/python scripts/make_datasets.py)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import sklearn.datasets as skd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "datasets"

TEST_SIZE = 0.25
SEED = 0


def snake(name: str) -> str:
    """'sepal length (cm)' -> 'sepal_length_cm'; 'od280/od315_of_diluted_wines' -> 'od280_od315_of_diluted_wines'."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def integral_floats_to_int(df: pd.DataFrame) -> pd.DataFrame:
    """Float columns whose every (non-missing) value is a whole number are written as
    integers (nullable Int64, so missing values stay missing). Exact either way; it just
    avoids '16.0' in the digits pixels and '181.0' in the penguins flipper lengths."""
    df = df.copy()
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s):
            v = s.dropna().to_numpy()
            if len(v) and np.all(np.isfinite(v)) and np.all(v == np.round(v)) and np.all(np.abs(v) < 2**53):
                df[col] = s.astype("Int64")
    return df


def from_sklearn(loader, name_target: bool, **kwargs) -> pd.DataFrame:
    bunch = loader(**kwargs)
    names = [snake(str(n)) for n in bunch.feature_names]
    df = pd.DataFrame(np.asarray(bunch.data, dtype=np.float64), columns=names)
    y = np.asarray(bunch.target)
    if name_target:
        df["target"] = np.asarray(bunch.target_names)[y].astype(str)
    else:
        df["target"] = y
    return df


def load_diabetes_raw() -> tuple[pd.DataFrame, str]:
    if "scaled" in inspect.signature(skd.load_diabetes).parameters:
        return from_sklearn(skd.load_diabetes, False, scaled=False), "load_diabetes(scaled=False)"
    # Older scikit-learn only offers the scaled features.
    return from_sklearn(skd.load_diabetes, False), "load_diabetes() (features mean-centred and scaled)"


def load_penguins() -> pd.DataFrame:
    import palmerpenguins

    # The package's own loader: reads palmerpenguins/data/penguins.csv shipped in the wheel.
    df = palmerpenguins.load_penguins()
    return df


def digits() -> pd.DataFrame:
    df = from_sklearn(skd.load_digits, False)
    expected = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    assert list(df.columns[:-1]) == expected, df.columns
    return df


def write_csv(df: pd.DataFrame, path: Path) -> None:
    # float_format=None: pandas writes repr(float), the shortest string that round-trips.
    # Missing values are written as empty fields.
    text = df.to_csv(index=False, lineterminator="\n", na_rep="")
    path.write_bytes(text.encode("utf-8"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    OUT.mkdir(exist_ok=True)
    sk_version = sklearn.__version__
    pp_version = importlib.metadata.version("palmerpenguins")
    diabetes_df, diabetes_fn = load_diabetes_raw()

    # name, frame, target column, task, source, original source, licence
    specs = [
        (
            "iris",
            from_sklearn(skd.load_iris, True),
            "target",
            "multiclass",
            f"scikit-learn {sk_version} `sklearn.datasets.load_iris()`",
            "R.A. Fisher (1936), via UCI ML Repository \"Iris\" (sklearn's copy matches R's `iris`; "
            "UCI's file has two wrong data points)",
            "UCI lists CC BY 4.0; the scikit-learn docs state no licence for it",
        ),
        (
            "wine",
            from_sklearn(skd.load_wine, True),
            "target",
            "multiclass",
            f"scikit-learn {sk_version} `sklearn.datasets.load_wine()`",
            "UCI ML Repository \"Wine\" (Forina et al., PARVUS)",
            "UCI lists CC BY 4.0; the scikit-learn docs state no licence for it",
        ),
        (
            "breast_cancer",
            from_sklearn(skd.load_breast_cancer, True),
            "target",
            "binary",
            f"scikit-learn {sk_version} `sklearn.datasets.load_breast_cancer()`",
            "UCI ML Repository \"Breast Cancer Wisconsin (Diagnostic)\" (Wolberg, Street, Mangasarian)",
            "UCI lists CC BY 4.0; the scikit-learn docs state no licence for it",
        ),
        (
            "digits",
            digits(),
            "target",
            "multiclass",
            f"scikit-learn {sk_version} `sklearn.datasets.load_digits()`",
            "UCI ML Repository \"Optical Recognition of Handwritten Digits\" (Alpaydin, Kaynak), its test set",
            "UCI lists CC BY 4.0; the scikit-learn docs state no licence for it",
        ),
        (
            "diabetes",
            diabetes_df,
            "target",
            "regression",
            f"scikit-learn {sk_version} `sklearn.datasets.{diabetes_fn}`",
            "Efron, Hastie, Johnstone, Tibshirani (2004) \"Least Angle Regression\", Annals of Statistics; "
            "https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html",
            "No licence stated by scikit-learn or the original source",
        ),
        (
            "penguins",
            load_penguins(),
            "species",
            "multiclass",
            f"palmerpenguins {pp_version} (PyPI) `palmerpenguins.load_penguins()`",
            "Gorman, Williams, Fraser (2014), Palmer Station LTER; R package palmerpenguins (Horst, Hill, Gorman)",
            "CC0 1.0 (data; the Python package's code is MIT)",
        ),
    ]

    rows = []
    sums = []
    for name, df, target, task, source, original, licence in specs:
        df = integral_floats_to_int(df).reset_index(drop=True)
        assert df[target].notna().all(), f"{name}: missing target"
        stratify = df[target] if task != "regression" else None
        train, test = train_test_split(df, test_size=TEST_SIZE, random_state=SEED, stratify=stratify)
        paths = {
            "full": OUT / f"{name}.csv",
            "train": OUT / f"{name}.train.csv",
            "test": OUT / f"{name}.test.csv",
        }
        write_csv(df, paths["full"])
        write_csv(train, paths["train"])
        write_csv(test, paths["test"])

        # Round-trip check: what we wrote reads back to exactly the same values.
        back = pd.read_csv(paths["full"], keep_default_na=False, na_values=[""])
        for col in df.columns:
            a, b = df[col], back[col]
            if pd.api.types.is_numeric_dtype(a):
                assert np.array_equal(a.astype("float64").to_numpy(), b.astype("float64").to_numpy(), equal_nan=True), (name, col)
            else:
                assert list(a.astype(object).where(a.notna(), None)) == list(b.astype(object).where(b.notna(), None)), (name, col)
        assert len(train) + len(test) == len(df)

        for p in paths.values():
            sums.append((p.name, sha256(p)))
        n_missing = int(df.isna().sum().sum())
        n_classes = df[target].nunique() if task != "regression" else None
        rows.append(
            dict(
                name=name,
                rows=len(df),
                cols=df.shape[1],
                train=len(train),
                test=len(test),
                task=task + (f" ({n_classes} classes)" if n_classes else ""),
                target=target,
                labels=", ".join(f"`{v}`" for v in sorted(df[target].astype(str).unique()))
                if n_classes
                else "continuous",
                missing=n_missing,
                source=source,
                original=original,
                licence=licence,
            )
        )
        print(f"{name}: {len(df)} rows x {df.shape[1]} cols, train {len(train)}, test {len(test)}, missing cells {n_missing}")

    (OUT / "SHA256SUMS").write_bytes("".join(f"{h}  {f}\n" for f, h in sums).encode())
    (OUT / "README.md").write_bytes(readme(rows, sums, sk_version, pp_version).encode())
    return 0


def readme(rows, sums, sk_version, pp_version) -> str:
    L = []
    L.append("# Datasets\n")
    L.append(
        "Small real datasets that ship with Smelt, as CSV, with fixed train/test splits so that every "
        "comparison (tests, benchmarks, examples) uses identical rows.\n"
    )
    L.append("Generated by `scripts/make_datasets.py` — do not edit these files by hand. To regenerate:\n")
    L.append("```sh\n$HOME/.cache/smelt/venv/bin/pip install scikit-learn pandas palmerpenguins  # once\n"
             "$HOME/.cache/smelt/venv/bin/python scripts/make_datasets.py\n```\n")
    L.append(
        f"Made with scikit-learn {sk_version}, palmerpenguins {pp_version}. Nothing is downloaded: scikit-learn "
        "reads the data files shipped inside its package, and palmerpenguins the CSV shipped inside its wheel. "
        "Running the script twice gives byte-identical files.\n"
    )
    L.append("## Summary\n")
    L.append("| dataset | rows | columns | train | test | task | target | labels | missing cells |")
    L.append("|---|---:|---:|---:|---:|---|---|---|---:|")
    for r in rows:
        L.append(
            f"| `{r['name']}` | {r['rows']} | {r['cols']} | {r['train']} | {r['test']} | {r['task']} | "
            f"`{r['target']}` | {r['labels']} | {r['missing']} |"
        )
    L.append("")
    L.append("“columns” counts the target column. Files per dataset: `<name>.csv` (all rows, in the source's order), "
             "`<name>.train.csv`, `<name>.test.csv`.\n")
    L.append("## Sources and licences\n")
    L.append("| dataset | loaded with | original source | licence |")
    L.append("|---|---|---|---|")
    for r in rows:
        L.append(f"| `{r['name']}` | {r['source']} | {r['original']} | {r['licence']} |")
    L.append("")
    L.append(
        "scikit-learn's documentation (the datasets' `DESCR`) names the UCI ML Repository as the source of iris, "
        "wine, breast_cancer and digits, and Efron et al. for diabetes, but states no licence for any of them; the "
        "licence given here for those four is the one the UCI ML Repository now shows on each dataset's page "
        "(Creative Commons Attribution 4.0: cite the dataset). scikit-learn itself is BSD-3-Clause. palmerpenguins' "
        "data are CC0; please cite Gorman KB, Williams TD, Fraser WR (2014), PLoS ONE 9(3):e90081.\n"
    )
    L.append("## Format\n")
    L.append("- UTF-8, comma-separated, `\\n` line endings, one header row, no index column.")
    L.append("- Column names are scikit-learn's feature names in snake_case (`sepal length (cm)` → `sepal_length_cm`, "
             "`mean radius` → `mean_radius`, `od280/od315_of_diluted_wines` → `od280_od315_of_diluted_wines`); digits' "
             "are `pixel_<row>_<col>` for the 8×8 image, row-major (`pixel_0_0` … `pixel_7_7`, values 0–16). "
             "penguins keeps palmerpenguins' column names.")
    L.append("- The target is the last column, named `target`, except penguins, whose target is its first column `species`.")
    L.append("- Class labels are the human names where the source has them: iris `setosa`/`versicolor`/`virginica`; "
             "wine `class_0`/`class_1`/`class_2`; breast_cancer `malignant`/`benign`; penguins `Adelie`/`Chinstrap`/`Gentoo`. "
             "digits' label is the digit `0`–`9`; diabetes' target is a number (disease progression one year after baseline).")
    L.append("- Numbers are written so that they read back exactly: floats as the shortest decimal that round-trips "
             "to the same 64-bit float; float columns whose values are all whole numbers are written as integers "
             "(digits' pixels, several diabetes columns and its target, penguins' `flipper_length_mm` and `body_mass_g`).")
    L.append("- diabetes holds the raw, unscaled values (`load_diabetes(scaled=False)`): `age` in years, `sex` coded 1/2, "
             "`bmi`, `bp`, `s1`–`s6` blood serum measurements; not the mean-centred, scaled version that `load_diabetes()` returns by default.")
    L.append("- penguins keeps its missing values, written as empty fields (palmerpenguins' own file writes `NA`): 2 rows lack all "
             "four measurements, 11 rows lack `sex`. Its categorical columns `island` and `sex` are text; `year` is an integer.")
    L.append("")
    L.append("## Splits\n")
    L.append(
        "Made in `scripts/make_datasets.py` by\n\n"
        "```python\n"
        "train, test = sklearn.model_selection.train_test_split(\n"
        "    df, test_size=0.25, random_state=0,\n"
        "    stratify=df[target],  # None for diabetes (regression)\n"
        ")\n```\n\n"
        "where `df` is the full table exactly as in `<name>.csv`. The rows of `<name>.train.csv` and `<name>.test.csv` "
        "are rows of `<name>.csv`, unchanged, in the order `train_test_split` returns them, with the same columns; "
        "together they are the full file.\n"
    )
    L.append("## Checksums\n")
    L.append("SHA-256 of every CSV, also in `SHA256SUMS` (check with `cd datasets && sha256sum -c SHA256SUMS`):\n")
    L.append("```")
    for f, h in sums:
        L.append(f"{h}  {f}")
    L.append("```")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
