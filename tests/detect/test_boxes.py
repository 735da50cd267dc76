import numpy as np
import pytest

from appliance.detect import boxes as bx


def test_pyramid_stops_at_the_12px_window():
    for min_face in (12, 20, 40, 60, 100):
        scales = bx.pyramid_scales(1920, 1080, min_face)
        assert scales[0] == pytest.approx(12 / min_face)
        assert 1080 * scales[-1] >= 12
        assert 1080 * scales[-1] * 0.709 < 12


def test_pyramid_rejects_faces_below_the_window():
    with pytest.raises(ValueError):
        bx.pyramid_scales(640, 480, 10)


def test_pyramid_of_a_frame_smaller_than_the_face_is_empty():
    assert bx.pyramid_scales(30, 30, 60) == []


def test_iou_of_identical_disjoint_and_half_overlapping_boxes():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [5, 0, 15, 10]], float)
    np.testing.assert_allclose(bx.iou_matrix(a, b)[0], [1.0, 0.0, 50 / 150])
    np.testing.assert_allclose(bx.iou_matrix(a, b, "min")[0], [1.0, 0.0, 0.5])


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 9]], float)
    scores = np.array([0.8, 0.9, 0.7, 0.6])
    keep = bx.nms(boxes, scores, 0.5)
    assert list(keep) == [1, 2]


def test_nms_drops_a_box_overlapping_any_better_box_as_the_reference_does():
    # B overlaps A (kept) only slightly but overlaps C, which A suppressed: fast NMS drops B too.
    a, c, b = [0, 0, 10, 10], [3, 0, 13, 10], [7, 0, 17, 10]
    keep = bx.nms(np.array([a, c, b], float), np.array([0.9, 0.8, 0.7]), 0.4)
    assert list(keep) == [0]


@pytest.mark.parametrize("method", ["union", "min"])
def test_nms_over_many_boxes_compares_neighbours_only_and_keeps_the_same_boxes(method):
    """Above a strip's worth of boxes, NMS compares each box only with those it may intersect along x:
    it must keep exactly what comparing every pair keeps (fast NMS, best first)."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1900, (4000, 2))
    sides = rng.uniform(5, 60, (4000, 1)) * rng.uniform(0.8, 1.2, (4000, 2))
    sides[::40] *= 15  # a few large boxes reach across many strips
    boxes = np.hstack([xy, xy + sides])
    scores = np.round(rng.uniform(0.5, 1.0, 4000), 2)  # ties, broken by order as in the reference
    order = np.argsort(-scores, kind="stable")
    overlap = bx.iou_matrix(boxes[order], boxes[order], method)
    every_pair = order[~((overlap > 0.5) & np.tri(4000, 4000, -1, dtype=bool)).any(axis=1)]
    kept = bx.nms(boxes, scores, 0.5, method)
    assert 100 < len(kept) < 4000 and np.array_equal(kept, every_pair)


def test_square_keeps_the_centre():
    sq = bx.square(np.array([[10, 20, 30, 60]], float))[0]
    assert sq[2] - sq[0] == pytest.approx(40) and sq[3] - sq[1] == pytest.approx(40)
    assert (sq[0] + sq[2]) / 2 == pytest.approx(20) and (sq[1] + sq[3]) / 2 == pytest.approx(40)


def test_clip_clamps_instead_of_mirroring():
    clipped = bx.clip_boxes(np.array([[-15, -5, 50, 700]], float), 640, 480)[0]
    assert list(clipped) == [0, 0, 50, 479]


def test_normalise_is_the_packages_formula_exactly():
    """The nets' input, made by OpenCV in one pass: the same float32 values as ``(pixel - 127.5) / 128``."""
    import numpy as np

    from appliance.detect.cascade import normalise

    pixels = np.random.default_rng(0).integers(0, 256, (41, 67, 3), dtype=np.uint8)
    pixels[0, :, 0] = np.arange(67) * 3 + 55  # and the range's ends
    pixels[0, 0] = (0, 255, 128)
    expected = (pixels.astype(np.float32) - 127.5) * (1.0 / 128.0)
    assert normalise(pixels).dtype == np.float32 and np.array_equal(normalise(pixels), expected)


def test_patches_are_bilinear_samples_with_zeros_outside():
    """extract_patches against the sampling written out point by point (crop_and_resize's, corner-aligned)."""
    import numpy as np

    from appliance.detect.cascade import extract_patches

    rng = np.random.default_rng(1)
    image = rng.uniform(-1, 1, (23, 31, 3)).astype(np.float32)
    boxes = np.array([[2.5, 3.0, 20.0, 18.5], [-4.0, -2.0, 9.0, 11.0], [25.0, 15.0, 40.0, 30.0]])
    size = 5
    found = extract_patches(image, boxes, size)
    h, w = image.shape[:2]
    for n, (x1, y1, x2, y2) in enumerate(boxes):
        for i in range(size):
            y = y1 / h * (h - 1) + i / (size - 1) * (y2 - y1) / h * (h - 1)
            for j in range(size):
                x = x1 / w * (w - 1) + j / (size - 1) * (x2 - x1) / w * (w - 1)
                if not (0 <= y <= h - 1 and 0 <= x <= w - 1):
                    assert not found[n, i, j].any()
                    continue
                y0, x0 = int(np.floor(y)), int(np.floor(x))
                y1_, x1_ = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
                top = image[y0, x0] + (image[y0, x1_] - image[y0, x0]) * (x - x0)
                bottom = image[y1_, x0] + (image[y1_, x1_] - image[y1_, x0]) * (x - x0)
                np.testing.assert_allclose(found[n, i, j], top + (bottom - top) * (y - y0), atol=1e-5)
