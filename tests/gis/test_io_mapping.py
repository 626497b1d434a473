"""Column mapping and file reading without a database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely

from gis.errors import InvalidInput
from gis.io import mapping, readers


def test_chinese_headers_map_by_default() -> None:
    columns = [
        "标准地址",
        "楼栋",
        "单元",
        "房号",
        "姓名",
        "身份证号",
        "联系电话",
        "与户主关系",
        "备注",
    ]
    got = mapping.resolve("households", columns)
    assert got["address"] == "标准地址" and got["building"] == "楼栋"
    assert got["id_number"] == "身份证号" and got["phone"] == "联系电话"
    assert got["relation"] == "与户主关系" and "备注" not in got.values()


def test_explicit_mapping_wins_and_bad_mapping_is_explained(tmp_path: Path) -> None:
    file = tmp_path / "m.toml"
    file.write_text('"网格号" = "code"\n"网格名" = "name"\n', encoding="utf-8")
    explicit = mapping.load_mapping_file(file)
    assert mapping.resolve("grids", ["网格号", "网格名", "名称"], explicit) == {
        "code": "网格号",
        "name": "网格名",
    }
    with pytest.raises(InvalidInput, match="does not have"):
        mapping.resolve("grids", ["网格号"], {"nope": "code"})
    with pytest.raises(InvalidInput, match="unknown field"):
        mapping.resolve("grids", ["网格号"], {"网格号": "colour"})
    with pytest.raises(InvalidInput, match=r"required field\(s\) code"):
        mapping.resolve("grids", ["名称", "x"])
    assert mapping.parse_map_options(["a=code", "b=-"]) == {"a": "code", "b": "-"}
    with pytest.raises(InvalidInput):
        mapping.parse_map_options(["nocolon"])


def test_codes_and_id_numbers_keep_leading_zeros(tmp_path: Path) -> None:
    file = tmp_path / "t.xlsx"
    pd.DataFrame(
        {"编码": ["062088100100"], "身份证号": ["01234"], "经度": [106.6], "纬度": [35.2]}
    ).to_excel(file, index=False)
    table = readers.read_source(file)
    assert table.frame.loc[0, "编码"] == "062088100100"
    assert table.geometry is not None and table.geometry[0].x == pytest.approx(106.6)


def test_unknown_format_and_crs_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "a.txt"
    file.write_text("x")
    with pytest.raises(InvalidInput, match="unknown format"):
        readers.read_source(file)
    csv = tmp_path / "a.csv"
    csv.write_text("code,name,lon,lat\n1,a,106,35\n")
    with pytest.raises(InvalidInput, match="unknown EPSG code"):
        readers.read_source(csv, crs="EPSG:999999")
    with pytest.raises(InvalidInput, match="not understood"):
        readers.read_source(csv, crs="mars")


def test_csv_with_unquoted_commas_is_refused_not_shifted(tmp_path: Path) -> None:
    # pandas would turn the surplus leading fields into an index and shift every column.
    # (Coordinates in China: the reader refuses a file whose features fall nowhere near it.)
    csv = tmp_path / "g.csv"
    csv.write_text("code,name,wkt\n620881001001001,x,POLYGON((106 35,107 35,107 36,106 35))\n")
    with pytest.raises(InvalidInput, match="row 1 has 6 fields but the header has 3"):
        readers.read_source(csv)
    csv.write_text(
        'code,name,wkt\n620881001001001,x,"POLYGON((106 35,107 35,107 36,106 35))"\n,,\n'
    )
    table = readers.read_source(csv)
    assert table.frame.to_dict("records") == [{"code": "620881001001001", "name": "x"}]
    assert table.geometry is not None and table.geometry[0].equals_exact(
        shapely.from_wkt("POLYGON((106 35,107 35,107 36,106 35))"), 0
    )
