import pytest

from closeloop.geo.coords import convert, gcj02_to_wgs84, outside_china, wgs84_to_gcj02

# Published pairs (WGS-84 → GCJ-02), as the common coordtransform libraries give them.
KNOWN = [
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),  # Tiananmen, Beijing
    ((22.543096, 114.057865), (22.54037875229225, 114.06297895739921)),  # Futian, Shenzhen
]


@pytest.mark.parametrize(("wgs", "gcj"), KNOWN)
def test_known_points_convert_to_their_published_gcj02(wgs, gcj) -> None:
    lat, lon = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=1e-9)
    assert lon == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), KNOWN)
def test_the_inverse_finds_the_wgs84_point_within_a_millionth_of_a_degree(wgs, gcj) -> None:
    lat, lon = gcj02_to_wgs84(*gcj)
    assert abs(lat - wgs[0]) < 1e-6
    assert abs(lon - wgs[1]) < 1e-6


@pytest.mark.parametrize(
    "point", [(22.5468, 114.1236), (31.2304, 121.4737), (45.75, 126.63), (18.25, 109.5)]
)
def test_round_trips_return_the_point(point) -> None:
    assert gcj02_to_wgs84(*wgs84_to_gcj02(*point)) == pytest.approx(point, abs=1e-6)
    # The offset in China is a few hundred metres, never zero.
    moved = wgs84_to_gcj02(*point)
    assert 1e-4 < abs(moved[0] - point[0]) + abs(moved[1] - point[1]) < 1e-2


@pytest.mark.parametrize("point", [(51.5074, -0.1278), (40.7128, -74.006), (-33.86, 151.2)])
def test_outside_china_there_is_no_offset(point) -> None:
    assert outside_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_convert_changes_only_towards_gcj02() -> None:
    assert convert(22.5, 114.1, crs="wgs84") == (22.5, 114.1)
    assert convert(22.5, 114.1, crs="gcj02") == wgs84_to_gcj02(22.5, 114.1)
