"""Migration 0034_party_members moves the old chain's data into the new shape.

Before 0030 a town's committee was typed 党工委, members were attached to 党小组 and even to
党员中心户 as their organisation, and a 党员中心户 was an organisation. This test builds such a
chain just before 0030, upgrades, and reads what the migration made of it.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from gis.migrate import downgrade, script_head, upgrade
from tests.conftest import app_role, create_test_database, drop_test_database, owner_url

SQUARE = "ST_Multi(ST_MakeEnvelope(106.60, 35.20, 106.61, 35.21, 4326))"
OLD_CHAIN = f"""
INSERT INTO area (id, level, code, name, kind, parent_id, district_code, geom) VALUES
 (9001, 'district', '620881', '华亭市', '县级市', NULL, '620881', {SQUARE}),
 (9002, 'street', '620881100000', '东华镇', '镇', 9001, '620881', {SQUARE}),
 (9003, 'community', '620881100001', '东华村', '村', 9002, '620881', {SQUARE}),
 (9004, 'grid', '620881100001001', '第一网格', '综合网格', 9003, '620881', {SQUARE}),
 (9005, 'grid', '620881100001002', '第二网格', '综合网格', 9003, '620881', {SQUARE});
INSERT INTO building (id, code, name, address, use, floors, grid_id, district_code, geom) VALUES
 (9001, '620881B0000001', '1号楼', '东华镇1号', '住宅', 6, 9004, '620881', {SQUARE});
INSERT INTO household (id, code, building_id, unit, floor, room, address, district_code) VALUES
 (9001, '620881H900000001', 9001, 1, 1, '101', '1号楼101', '620881'),
 (9002, '620881H900000002', 9001, 1, 2, '201', '1号楼201', '620881'),
 (9003, '620881H900000003', 9001, 1, 3, '301', '1号楼301', '620881');
INSERT INTO resident (id, household_id, name, gender, birth_year, relation, district_code) VALUES
 (9001, 9001, '张三', '男', 1960, '户主', '620881'),
 (9002, 9002, '李四', '女', 1970, '户主', '620881'),
 (9003, 9003, '王五', '男', 1980, '户主', '620881');
INSERT INTO party_org (id, code, name, level, org_type, parent_id, area_id, building_id,
                       household_id, district_code, geom, founded_on) VALUES
 (9001, 'DZ620881100', '中共华亭市东华镇委员会', 'street', '党工委', NULL, 9002, NULL, NULL,
  '620881', ST_Point(106.605, 35.205, 4326), '1980-01-01'),
 (9002, 'DZ620881100001', '中共华亭市东华镇东华村支部委员会', 'community', '党支部', 9001,
  9003, NULL, NULL, '620881', ST_Point(106.605, 35.205, 4326), '2000-01-01'),
 (9003, 'DZ620881100001001', '第一网格党支部', 'grid', '党支部', 9002, 9004, NULL, NULL,
  '620881', ST_Point(106.605, 35.205, 4326), '2019-01-01'),
 (9004, 'DZ620881B0000001', '1号楼党小组', 'building', '党小组', 9003, NULL, 9001, NULL,
  '620881', ST_Point(106.605, 35.205, 4326), '2020-01-01'),
 (9005, 'DZ620881B0000001H', '1号楼党员中心户', 'household', '党员中心户', 9004, NULL, NULL,
  9001, '620881', ST_Point(106.605, 35.205, 4326), '2021-05-01');
INSERT INTO party_member (id, resident_id, org_id, joined_on, district_code) VALUES
 (9001, 9001, 9005, '1985-07-01', '620881'),  -- attached to the central household
 (9002, 9002, 9004, '1995-07-01', '620881'),  -- attached to the group
 (9003, 9003, 9002, '2005-07-01', '620881');  -- attached to the community organisation
"""


@pytest.fixture
def old_chain(server_url: str) -> Iterator[str]:
    url = create_test_database(server_url, "chainmig")
    owner = owner_url(url)
    downgrade(owner, "0029_offline_field", app_role=app_role())
    with psycopg.connect(owner) as conn:
        conn.execute(OLD_CHAIN)
        conn.commit()
    upgrade(owner, app_role=app_role())
    yield owner
    drop_test_database(server_url, url)


def test_the_old_chain_is_moved_into_the_new_shape(old_chain: str) -> None:
    with psycopg.connect(old_chain) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            script_head(),
        )
        orgs = dict(conn.execute("SELECT code, org_type FROM party_org").fetchall())
        # The town has a 党委; the community with a branch under it is a 党总支.
        assert orgs["DZ620881100"] == "党委"
        assert orgs["DZ620881100001"] == "党总支"
        name = conn.execute("SELECT name FROM party_org WHERE id = 9002").fetchone()
        assert name == ("中共华亭市东华镇东华村总支部委员会",)
        # The 党员中心户 is no organisation now, but member 9001's household serving none yet.
        assert "DZ620881B0000001H" not in orgs
        central = conn.execute(
            "SELECT code, household_id, member_id, named_on::text FROM party_central_household"
        ).fetchall()
        assert central == [("DZ620881B0000001H", 9001, 9001, "2021-05-01")]
        # Each member in exactly one 支部, his group one of its 党小组.
        members = conn.execute(
            "SELECT m.id, b.code, g.code FROM party_member m JOIN party_org b ON b.id = m.org_id"
            " LEFT JOIN party_org g ON g.id = m.group_id ORDER BY m.id"
        ).fetchall()
        assert members == [
            (9001, "DZ620881100001001", "DZ620881B0000001"),
            (9002, "DZ620881100001001", "DZ620881B0000001"),
            (9003, "DZ620881100001Z", None),
        ]
        direct = conn.execute(
            "SELECT name, level, org_type, parent_id FROM party_org WHERE code = 'DZ620881100001Z'"
        ).fetchone()
        assert direct == ("东华村直属党支部", "community", "党支部", 9002)
