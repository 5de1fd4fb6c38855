import numpy as np
import pytest

from aniportrait_cli.media import VideoReader, load_audio
from tests.cli.run import aniportrait, assert_clean_error


@pytest.fixture(scope="module")
def template_and_preview(tmp_path_factory, media_dir):
    folder = tmp_path_factory.mktemp("edit")
    result = aniportrait("edit-pose", "--video", media_dir / "pose_ref_video.mp4", "--save-pose", "p.npy",
                         "--preview", "-o", "prev.mp4", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, result


def test_template_extractor_writes_the_original_format(template_and_preview, media_dir):
    folder, _ = template_and_preview
    pose = np.load(folder / "p.npy")
    assert pose.dtype == np.float64 and pose.shape == (150, 6)  # 5 s at 30 fps
    assert np.abs(pose[0, :3]).max() < 1.0  # relative to frame 0 (then smoothed over frames 0-3)
    assert np.abs(pose[:, :3]).max() > 2.0  # the speaker does move her head
    # Same template without the preview: the extractor path and the render path agree.
    result = aniportrait("edit-pose", "--video", media_dir / "pose_ref_video.mp4", "--save-pose", "q.npy", cwd=folder)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(folder / "q.npy"), pose, atol=1e-4)


def test_preview_is_side_by_side_with_the_source_audio(template_and_preview):
    folder, result = template_and_preview
    reader = VideoReader(folder / "prev.mp4")
    assert (reader.info.width, reader.info.height) == (1024, 512)
    assert reader.num_frames == 150 and reader.info.has_audio
    assert abs(load_audio(folder / "prev.mp4").duration_s - 5.0) < 0.05
    frames = list(reader.frames())
    # The landmark drawing (right half) moves with the head: its centroid travels over the clip.
    centroids = []
    for frame in frames[::10]:
        ys, xs = np.nonzero(frame[:, 512:].max(axis=2) > 60)
        centroids.append((xs.mean(), ys.mean()))
    centroids = np.array(centroids)
    assert np.ptp(centroids[:, 0]) > 5 or np.ptp(centroids[:, 1]) > 5
    assert '"status": "ok"' in result.stdout


def test_template_edits_and_still(tmp_path, media_dir):
    template = media_dir / "pose_temp.npy"
    result = aniportrait("edit-pose", "--motion", "missing.npz", "--save-pose", "x.npy", cwd=tmp_path)
    assert_clean_error(result, 2, "missing.npz")
    src = np.load(template)
    result = aniportrait("edit-pose", "--video", media_dir / "pose_ref_video.mp4", "--pose-from", template,
                         "--pose-scale", "2", "--pose-offset", "10,0,0", "--save-pose", "e.npy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    edited = np.load(tmp_path / "e.npy")
    assert edited.shape == (150, 6)
    np.testing.assert_allclose(edited[:, 1], 2 * src[:150, 1] + 10, atol=1e-6)  # yaw = ry, doubled, +10 degrees


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["--save-pose", "x.npy"], 2, "exactly one motion source"),
        (["--video", "nope.mp4", "--save-pose", "x.npy"], 2, "nope.mp4"),
        (["--video", "{media}/pose_ref_video.mp4", "--save-pose", "x.txt"], 2, ".npy"),
        (["--video", "{media}/pose_ref_video.mp4"], 2, "nothing to do"),
        (["--video", "{media}/pose_ref_video.mp4", "--pose-offset", "1,2", "--save-pose", "x.npy"], 2, "yaw,pitch,roll"),
        (["--video", "{media}/pose_ref_video.mp4", "--loop", "bounce", "--save-pose", "x.npy"], 2, "--loop"),
    ],
)
def test_bad_edit_pose_input(tmp_path, media_dir, args, code, fragment):
    args = [a.replace("{media}", str(media_dir)) for a in args]
    assert_clean_error(aniportrait("edit-pose", *args, cwd=tmp_path), code, fragment)
