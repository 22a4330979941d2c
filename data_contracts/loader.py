"""Turn a contract YAML (data_contracts/<table>.yaml) into a `Contract` with a pandera schema.

The YAML is the single source of truth for a table: column names, types, nullability,
uniqueness, value checks and named row rules. Two uses:

- Inputs: `pipelines.ingest` reads a table, coerces it to the contract types, fails on structural
  problems and quarantines rows that break a check or a row rule.
- Outputs: before writing a table, call `validate_output(df, "tier_table")`. It raises
  `ContractError` unless the frame has exactly the contract's columns, dtypes and nullability,
  and passes every check and self-contained row rule; it returns the frame in contract column order.

YAML format (see subscribers.yaml):

    table: tier_table
    description: ...
    primary_key: [subscriber_key]           # unique together, never null
    strict: true                            # optional: reject extra columns (validate_output always does)
    columns:
      tier: {type: category, nullable: false, checks: {isin: [high, mid, low]}, description: ...}
    row_rules:                              # names of functions in data_contracts/rules.py
      - {name: parts_within_amount, params: {tolerance: 0.01}, description: ...}
    references:                             # documentation + table order; checked by row rules
      - {columns: [subscriber_id], table: subscribers, to: [subscriber_id]}

Types and their pandas dtypes in memory: int64 (numpy int64; pandas Int64 when nullable),
float64, string (pandas `str`), bool (numpy bool; pandas boolean when nullable), date and
datetime (naive datetime64, any unit), category (pandas Categorical).
Checks (null values always pass; `nullable` governs nulls): ge, le, gt, lt, eq, ne, isin, notin,
str_matches (regex anchored at the start), str_length ({min: .., max: ..}).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_contracts.rules import RULES, RuleContext, RuleFunction
from tiercast.errors import InputError

ColumnType = Literal["id", "int64", "float64", "string", "bool", "date", "datetime", "category"]
# An `id` column holds the operator's own identifiers as the export has them: int64 or string.

# check name -> (vectorized "passes" on non-null values, pandera check, wording for reports)
CHECKS: dict[str, tuple[Callable[[pd.Series, Any], pd.Series], Callable[[Any], pa.Check], str]] = {
    "ge": (lambda s, v: s >= v, pa.Check.ge, ">= {}"),
    "le": (lambda s, v: s <= v, pa.Check.le, "<= {}"),
    "gt": (lambda s, v: s > v, pa.Check.gt, "> {}"),
    "lt": (lambda s, v: s < v, pa.Check.lt, "< {}"),
    "eq": (lambda s, v: s == v, pa.Check.eq, "== {}"),
    "ne": (lambda s, v: s != v, pa.Check.ne, "!= {}"),
    "isin": (lambda s, v: s.isin(v), pa.Check.isin, "in {}"),
    "notin": (lambda s, v: ~s.isin(v), pa.Check.notin, "not in {}"),
    "str_matches": (lambda s, v: s.str.match(v), pa.Check.str_matches, "matches {!r}"),
    "str_length": (
        lambda s, v: s.str.len().between(v.get("min", 0), v.get("max", np.inf)),
        lambda v: pa.Check.str_length(v.get("min"), v.get("max")),
        "length in {}",
    ),
}


# Rule name of a value outside a closed vocabulary (an `isin` check): the mapping does not know the code.
UNMAPPED = "unmapped_value"
# A mainland mobile number standing alone (not inside a longer run of digits or letters).
MOBILE_NUMBER = re.compile(r"(?<![0-9A-Za-z])(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9A-Za-z])")


def mask_numbers(text: str) -> str:
    """Return `text` with every mobile number masked as a person may see it: 15700089978 -> 157****9978."""
    return MOBILE_NUMBER.sub(r"\1****\3", text)


class ContractError(InputError, ValueError):
    """A table (or a contract file) that breaks its contract; the message names table, column and rule."""

    def __init__(
        self, table: str, problem: str, column: str | None = None, rule: str | None = None, examples: str = ""
    ) -> None:
        self.table, self.column, self.rule = table, column, rule
        where = f"{table}.{column}" if column else table
        message = f"{where}: {problem}" + (f" [rule {rule}]" if rule else "")
        # The message reaches logs, reports, Prefect's database and the webhook: no phone number in clear.
        super().__init__(mask_numbers(message + (f"\nexamples:\n{examples}" if examples else "")))


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnCheck(_Spec):
    """One value check on one column, e.g. `amount >= 0`, named `amount:ge` in reports."""

    column: str
    kind: str
    value: Any

    @property
    def name(self) -> str:
        """The rule name reported for rows that fail this check (`channel:unmapped_value` for a closed set)."""
        return f"{self.column}:{UNMAPPED if self.kind == 'isin' else self.kind}"

    def describe(self) -> str:
        """Return the check in words, e.g. `amount >= 0`."""
        words = f"{self.column} {CHECKS[self.kind][2].format(self.value)}"
        return words + " (an export's own codes are mapped to these by the mapping's values)" * (self.kind == "isin")

    def passes(self, values: pd.Series) -> np.ndarray:
        """Return True where the value passes or is null."""
        passes = CHECKS[self.kind][0](values, self.value).to_numpy(dtype=bool, na_value=True)
        return passes | values.isna().to_numpy() if values.hasnans else passes

    def to_pandera(self) -> pa.Check:
        """Return the same check as a pandera Check."""
        return CHECKS[self.kind][1](self.value)


class ColumnSpec(_Spec):
    """A column of a contract: type, nullability, uniqueness and checks."""

    name: str = ""
    type: ColumnType
    nullable: bool = False
    unique: bool = False
    checks: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    # Input contracts: a required column must be in every export; an optional one (an enrichment)
    # may be absent: `when_missing` says what tiercast does then, `fill` is the value the clean
    # table carries instead (null when not given; a bool column must give one).
    required: bool = True
    when_missing: str = ""
    fill: Any = None
    # Phone numbers: international prefixes read away (with spaces, dashes, dots, parentheses and a
    # leading +), so an export's `+86 138-0013-8000` is the national 13800138000 the checks and keys use.
    phone_prefixes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_checks(self) -> ColumnSpec:
        unknown = sorted(set(self.checks) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; known: {sorted(CHECKS)}")
        if not self.required and not self.when_missing:
            raise ValueError("an optional column (required: false) must say what happens without it (when_missing)")
        if not self.required and self.type == "bool" and self.fill is None:
            raise ValueError("an optional bool column needs a fill value (fill: true or false)")
        return self

    @property
    def closed_values(self) -> list[str] | None:
        """The closed vocabulary of this column (its `isin` check), None for an open one."""
        values = self.checks.get("isin")
        return None if values is None else [str(v) for v in values]

    @property
    def column_checks(self) -> list[ColumnCheck]:
        """The value checks of this column."""
        return [ColumnCheck(column=self.name, kind=kind, value=value) for kind, value in self.checks.items()]

    def dtype_matches(self, dtype: Any) -> bool:
        """True if a pandas dtype is exactly what this column's type means in memory."""
        if self.type == "string":
            return isinstance(dtype, pd.StringDtype)
        if self.type == "id":
            return isinstance(dtype, pd.StringDtype) or str(dtype) == "int64"
        if self.type == "category":
            return isinstance(dtype, pd.CategoricalDtype)
        if self.type in ("date", "datetime"):
            return isinstance(dtype, np.dtype) and dtype.kind == "M"
        allowed = {"int64": ["int64", "Int64"], "float64": ["float64"], "bool": ["bool", "boolean"]}[self.type]
        return str(dtype) == allowed[0] or (self.nullable and str(dtype) in allowed)

    def pandera_dtype(self) -> Any:
        """The dtype pandera checks (any datetime64 unit passes; a nullable bool is left to `dtype_matches`)."""
        if (self.type == "bool" and self.nullable) or self.type == "id":
            return None  # numpy bool and pandas boolean (int64 and str ids) are both fine: left to `dtype_matches`
        return {
            "int64": "Int64" if self.nullable else "int64",
            "float64": "float64",
            "string": "str",
            "bool": "bool",
            "date": "datetime64[ns]",
            "datetime": "datetime64[ns]",
            "category": "category",
        }[self.type]

    def pandas_hint(self) -> str:
        """How to get this column's dtype in pandas, for error messages."""
        return {
            "id": ".astype('int64') or .astype('str')",
            "int64": ".astype('Int64')" if self.nullable else ".astype('int64')",
            "float64": ".astype('float64')",
            "string": ".astype('str')",
            "bool": ".astype('boolean')" if self.nullable else ".astype('bool')",
            "date": "pd.to_datetime(...), naive",
            "datetime": "pd.to_datetime(...), naive",
            "category": ".astype('category')",
        }[self.type]


class RowRule(_Spec):
    """A named row rule from data_contracts/rules.py with its YAML parameters."""

    name: str
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _exists(self) -> RowRule:
        if self.name not in RULES:
            raise ValueError(f"row rule {self.name!r} is not defined in data_contracts/rules.py")
        try:
            inspect.signature(RULES[self.name].fn).bind(None, None, **self.params)
        except TypeError as exc:
            raise ValueError(f"row rule {self.name!r}: bad params {self.params}: {exc}") from exc
        return self

    @property
    def function(self) -> RuleFunction:
        """The registered implementation."""
        return RULES[self.name]

    @property
    def needs(self) -> tuple[str, ...]:
        """The tables this rule looks rows up in."""
        return self.function.needs

    def passes(self, table: pd.DataFrame, parents: Mapping[str, pd.DataFrame] | RuleContext) -> np.ndarray:
        """Return True where a row passes the rule."""
        ctx = parents if isinstance(parents, RuleContext) else RuleContext(parents)
        return np.asarray(self.function.fn(table, ctx, **self.params), dtype=bool)


class Reference(_Spec):
    """Columns of this table that point at the key of another table."""

    columns: list[str]
    table: str
    to: list[str]


class Contract(_Spec):
    """A table's contract as loaded from YAML (`load_contract`)."""

    table: str
    description: str = ""
    primary_key: list[str]
    strict: bool = False
    columns: dict[str, ColumnSpec]
    row_rules: list[RowRule] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _name_columns(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("columns"), dict):
            columns = {name: {**(spec or {}), "name": name} for name, spec in data["columns"].items()}
            data = {**data, "columns": columns}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        for label, names in [("primary_key", self.primary_key)] + [
            (f"reference to {ref.table}", ref.columns) for ref in self.references
        ]:
            missing = [name for name in names if name not in self.columns]
            if missing:
                raise ValueError(f"{label} names unknown column(s) {missing}")
        nullable_key = [name for name in self.primary_key if self.columns[name].nullable]
        if nullable_key:
            raise ValueError(f"primary key column(s) {nullable_key} cannot be nullable")
        return self

    @property
    def column_names(self) -> list[str]:
        """Column names in contract order."""
        return list(self.columns)

    @property
    def required_columns(self) -> list[str]:
        """Columns every export must carry, in contract order."""
        return [name for name, spec in self.columns.items() if spec.required]

    @property
    def optional_columns(self) -> list[str]:
        """Columns an export may lack (enrichments), in contract order."""
        return [name for name, spec in self.columns.items() if not spec.required]

    def without(self, absent: Iterable[str]) -> Contract:
        """Return this contract for an export lacking the optional columns `absent` (checks of the rest only).

        Row rules stay: each one passes on rows whose columns it needs are absent. A primary key
        that names an absent column is dropped (the table then has no key to check).
        """
        gone = set(absent)
        required = sorted(gone & set(self.required_columns))
        if required:
            raise ContractError(self.table, f"required column(s) {required} cannot be left out", required[0])
        if not gone:
            return self
        data = self.model_dump()
        data["columns"] = {name: spec for name, spec in data["columns"].items() if name not in gone}
        data["primary_key"] = [] if gone & set(self.primary_key) else self.primary_key
        data["references"] = [ref for ref in data["references"] if not gone & set(ref["columns"])]
        return Contract.model_validate(data)

    @property
    def parent_tables(self) -> set[str]:
        """Tables this one refers to (through references or row rules)."""
        return {ref.table for ref in self.references} | {t for r in self.row_rules for t in r.needs}

    @cached_property
    def schema(self) -> pa.DataFrameSchema:  # type: ignore[override]  # replaces pydantic's deprecated schema()
        """The pandera schema: dtypes, nullability, uniqueness, checks and the self-contained row rules.

        Row rules that look rows up in other tables (known_subscriber, ...) are not part of it.
        """
        columns = {
            name: pa.Column(
                spec.pandera_dtype(),
                checks=[check.to_pandera() for check in spec.column_checks],
                nullable=spec.nullable,
                unique=spec.unique,
                description=spec.description or None,
            )
            for name, spec in self.columns.items()
        }
        checks = [
            pa.Check(_rule_check(rule), name=rule.name, error=f"{rule.name}: {rule.description}".rstrip(": "))
            for rule in self.row_rules
            if not rule.needs
        ]
        return pa.DataFrameSchema(
            columns,
            checks=checks,
            unique=self.primary_key,
            strict=self.strict,
            name=self.table,
            description=self.description or None,
        )

    def dtype_problems(self, frame: pd.DataFrame) -> list[str]:
        """Return `column: expected T, found dtype` for every column whose dtype is not the contract's."""
        return [
            f"{name}: expected {spec.type}, found {frame[name].dtype} (use {spec.pandas_hint()})"
            for name, spec in self.columns.items()
            if name in frame.columns and not spec.dtype_matches(frame[name].dtype)
        ]


def _rule_check(rule: RowRule) -> Callable[[pd.DataFrame], pd.Series]:
    def check(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(rule.passes(frame, {}), index=frame.index)

    return check


def contract_path(name: str) -> Path:
    """Return the YAML file of contract `name` (a packaged contract name or a path to a .yaml file)."""
    if name.endswith((".yaml", ".yml")):
        return Path(name)
    return Path(str(resources.files("data_contracts") / f"{name}.yaml"))


@cache
def load_contract(name: str) -> Contract:
    """Return the contract `name` (e.g. "bills") or of a YAML file path; ContractError if it is invalid."""
    path = contract_path(name)
    if not path.is_file():
        raise ContractError(name, f"no contract file {path}")
    try:
        return Contract.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as exc:
        hint = " (inside {...}, an unquoted comma starts a new key: quote text that holds a comma)"
        extra = hint if "extra_forbidden" in str(exc) else ""
        raise ContractError(name, f"invalid contract file {path}{extra}:\n{exc}") from exc


def validate_shape(frame: pd.DataFrame, name: str) -> Contract:
    """Return contract `name` if `frame` has exactly its columns, each with its dtype; else raise ContractError
    naming the columns (the first half of `validate_output`: no value is looked at)."""
    contract = load_contract(name)
    missing = [c for c in contract.columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in contract.columns]
    if missing or extra:
        raise ContractError(contract.table, f"columns differ from the contract: missing {missing}, unexpected {extra}")
    problems = contract.dtype_problems(frame)
    if problems:
        raise ContractError(contract.table, "wrong dtypes: " + "; ".join(problems), rule="type")
    return contract


def validate_output(frame: pd.DataFrame, name: str, examples: int = 5) -> pd.DataFrame:
    """Return `frame` in contract column order if it matches contract `name` exactly; else raise ContractError.

    Exact means: the same set of columns, each with the contract's dtype, no nulls where not
    nullable, unique primary key and unique columns, every check and self-contained row rule passing.
    """
    contract = validate_shape(frame, name)
    ordered = frame[contract.column_names]
    try:
        contract.schema.validate(ordered, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        summary = cases.groupby(["column", "check"], dropna=False, sort=False).size().rename("rows").reset_index()
        first = cases.head(examples)[["column", "check", "index", "failure_case"]]
        raise ContractError(
            contract.table,
            "failed contract checks:\n" + summary.to_string(index=False),
            rule=", ".join(str(c) for c in summary["check"].unique()),
            examples=first.to_string(index=False),
        ) from exc
    return ordered
