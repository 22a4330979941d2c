"""An export from a decimal-comma locale read through its mapping: UTF-16 text (Excel's "Unicode text") or
cp1252 (Excel's "CSV" on a Western European Windows), ';' between fields, "1.234,50" amounts, dd/mm/yyyy dates,
mm/yyyy billing months, date-times with a comma before the milliseconds and E.164 phone numbers (+86...).
Read back, it is the canonical tables exactly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.loader import ContractError
from pipelines.ingest import validate_tables
from pipelines.mapping import load_mapping
from pipelines.quarantine import ValidationResult
from tests.data_contracts.tables import TABLES, valid_tables

MAPPING = """\
encoding: utf-16
delimiter: ";"
decimal: ","
tables:
  subscribers:
    file: clientes.csv
    columns: {subscriber_id: Código cliente, msisdn: Nº teléfono, activation_date: Fecha de alta,
              deactivation_date: Fecha de baja, deactivation_reason: Motivo de baja, plan: Tarifa}
    dates: {activation_date: "%d/%m/%Y", deactivation_date: "%d/%m/%Y"}
    values: {deactivation_reason: {BV: voluntary, IMP: non_payment}}
  bills:
    file: facturas.csv
    columns: {subscriber_id: Código cliente, bill_month: Periodo, amount: Importe}
    dates: {bill_month: "%m/%Y"}
  payments:
    file: cobros.csv
    columns: {subscriber_id: Código cliente, bill_month: Periodo, due_date: Vencimiento, paid_date: Fecha de cobro,
              amount_paid: Importe cobrado}
    dates: {bill_month: "%m/%Y", due_date: "%d/%m/%Y", paid_date: "%d/%m/%Y"}
  contacts:
    file: interacciones.csv
    columns: {subscriber_id: Código cliente, contact_time: Fecha y hora, channel: Canal, reason: Motivo}
    dates: {contact_time: "%d/%m/%Y %H:%M:%S,%f"}
    values:
      channel: {TELEFONO: voice, CHAT WEB: chat, APP MOVIL: app}
      reason: {CONSULTA: inquiry, FACTURA: billing, RECLAMACIÓN: complaint, AVERÍA: fault}
"""
PHONES = ["+86 138 0000 0001", "+8613900000002", "0086-150-0000-0003"]  # subscribers 1, 2, 3


def canonical() -> dict[str, pd.DataFrame]:
    """The hand-built tables, the first contact 250 ms later (the export writes milliseconds)."""
    tables = valid_tables()
    tables["contacts"].loc[0, "contact_time"] = pd.Timestamp("2024-02-01 10:00:05.250")
    tables["bills"].loc[1, "amount"] = 1070.5  # written "1.070,5": a thousands point
    return tables


def comma(values: pd.Series) -> pd.Series:
    return values.map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "."))


def day(values: pd.Series, fmt: str = "%d/%m/%Y") -> pd.Series:
    return values.dt.strftime(fmt).where(values.notna(), "")


def write_export(folder: Path, encoding: str = "utf-16") -> Path:
    """Write only the required columns, the way a Spanish-speaking operator's Excel saves them (+ mapping)."""
    t = canonical()
    s, b, p, c = (t[name] for name in TABLES)
    ids = {"Código cliente": lambda frame: frame["subscriber_id"].map("CL-{:07d}".format)}
    files = {
        "clientes.csv": {
            **{k: f(s) for k, f in ids.items()},
            "Nº teléfono": PHONES,
            "Fecha de alta": day(s["activation_date"]),
            "Fecha de baja": day(s["deactivation_date"]),
            "Motivo de baja": s["deactivation_reason"].map({"voluntary": "BV", "non_payment": "IMP"}),
            "Tarifa": s["plan"].map(
                {"postpaid_58": "Contrato Básico 58", "postpaid_128": "Contrato Más 128", "prepaid_19": "Prepago"}
            ),
        },
        "facturas.csv": {
            **{k: f(b) for k, f in ids.items()},
            "Periodo": day(b["bill_month"], "%m/%Y"),
            "Importe": comma(b["amount"]),
        },
        "cobros.csv": {
            **{k: f(p) for k, f in ids.items()},
            "Periodo": day(p["bill_month"], "%m/%Y"),
            "Vencimiento": day(p["due_date"]),
            "Fecha de cobro": day(p["paid_date"]),
            "Importe cobrado": comma(p["amount_paid"]),
        },
        "interacciones.csv": {
            **{k: f(c) for k, f in ids.items()},
            "Fecha y hora": c["contact_time"].dt.strftime("%d/%m/%Y %H:%M:%S,")
            + (c["contact_time"].dt.microsecond // 1000).map("{:03d}".format),
            "Canal": c["channel"].map({"voice": "TELEFONO", "chat": "CHAT WEB", "app": "APP MOVIL"}),
            "Motivo": c["reason"].map(
                {"inquiry": "CONSULTA", "billing": "FACTURA", "complaint": "RECLAMACIÓN", "fault": "AVERÍA"}
            ),
        },
    }
    folder.mkdir(parents=True)
    for name, columns in files.items():
        pd.DataFrame(columns).to_csv(folder / name, sep=";", index=False, encoding=encoding)
    (folder / "mapping.yaml").write_text(MAPPING.replace("utf-16", encoding), encoding="utf-8")
    return folder


def validate(settings, folder: Path, mapping: Path | None) -> ValidationResult:
    return validate_tables(
        folder,
        settings.validation,
        folder / "quarantine",
        folder / "report.json",
        mapping=None if mapping is None else load_mapping(mapping),
    )


@pytest.mark.parametrize(
    ("encoding", "starts"),
    [("utf-16", b"\xff\xfeC\x00\xf3\x00"), ("cp1252", b"C\xf3digo cliente;")],  # ó: 2 bytes, or one byte
)
def test_a_decimal_comma_export_reads_as_the_canonical_tables(
    settings, tmp_path: Path, encoding: str, starts: bytes
) -> None:
    folder = write_export(tmp_path / "export", encoding)
    assert (folder / "facturas.csv").read_bytes().startswith(starts)

    result = validate(settings, folder, folder / "mapping.yaml")

    expected = canonical()
    assert [result.reports[t].quarantined for t in TABLES] == [0, 0, 0, 0]
    s, b, p, c = (result.tables[t] for t in TABLES)
    assert s["subscriber_id"].tolist() == ["CL-0000001", "CL-0000002", "CL-0000003"]
    assert s["msisdn"].tolist() == ["13800000001", "13900000002", "15000000003"]
    assert s["deactivation_reason"].tolist()[1] == "voluntary"
    assert s["activation_date"].tolist() == expected["subscribers"]["activation_date"].tolist()
    assert b["bill_month"].tolist() == expected["bills"]["bill_month"].tolist()
    assert b["amount"].tolist() == [58.0, 1070.5, 128.0, 130.0, 19.0]
    assert p["amount_paid"].tolist() == [58.0, 70.5, 128.0, 0.0, 10.0]
    assert p["paid_date"].equals(expected["payments"]["paid_date"])
    assert c["contact_time"].tolist() == expected["contacts"]["contact_time"].tolist()
    assert str(c["contact_time"].iloc[0]) == "2024-02-01 10:00:05.250000"
    assert c["channel"].tolist() == ["voice", "chat", "voice", "app"]
    assert c["reason"].tolist() == ["inquiry", "billing", "complaint", "fault"]
    assert s["plan"].tolist() == ["Contrato Básico 58", "Contrato Más 128", "Prepago"]  # the operator's names, read


def test_a_utf16_file_without_the_encoding_says_which_to_set(settings, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export")
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING.replace("encoding: utf-16\n", ""), encoding="utf-8")

    with pytest.raises(ContractError, match="UTF-16 byte order mark: set `encoding: utf-16`"):
        validate(settings, folder, mapping)


def test_the_wrong_delimiter_names_the_missing_columns(settings, tmp_path: Path) -> None:
    """Read with ',' a ';' file has one column whose name holds them all: the message shows it."""
    folder = write_export(tmp_path / "export")
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING.replace('delimiter: ";"\n', ""), encoding="utf-8")

    with pytest.raises(ContractError) as caught:
        validate(settings, folder, mapping)

    assert caught.value.table == "bills" and caught.value.rule == "exists"  # read first: where the data ends
    assert "found ['Código cliente;Periodo;Importe']" in str(caught.value)
    assert "set `delimiter: ';'` in the mapping" in str(caught.value)


def test_a_cp1252_file_read_as_utf8_says_which_encoding_to_set(settings, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", "cp1252")
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING.replace("encoding: utf-16\n", ""), encoding="utf-8")

    with pytest.raises(ContractError) as caught:
        validate(settings, folder, mapping)

    assert (
        "facturas.csv: the header is not utf-8 text (it reads as cp1252 (Western European Windows text: é, ñ, ü ...): "
        "set `encoding: cp1252` in the mapping, or under tables.bills for this table alone)"
    ) in str(caught.value)
    assert caught.value.rule == "encoding"


def test_a_byte_cp1252_leaves_undefined_in_a_later_block_is_an_encoding_error_naming_latin1(
    settings, tmp_path: Path
) -> None:
    """Given a cp1252 export whose contacts file holds, after 2 MB of rows, a byte cp1252 does not define (0x81)."""
    folder = write_export(tmp_path / "export", "cp1252")
    contacts = folder / "interacciones.csv"
    head, *rows = contacts.read_bytes().splitlines(keepends=True)
    contacts.write_bytes(head + b"".join(rows) * 20_000 + rows[0].replace(b"CONSULTA", b"CONSULTA\x81"))

    with pytest.raises(ContractError) as caught:
        validate(settings, folder, folder / "mapping.yaml")

    assert caught.value.table == "contacts" and caught.value.rule == "encoding"
    assert "interacciones.csv: not cp1252 text ('charmap' codec can't decode byte 0x81" in str(caught.value)
    assert "(a byte cp1252 leaves undefined: `encoding: latin-1` reads every byte)" in str(caught.value)
