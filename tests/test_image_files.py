"""The one image lister (sapiens2/image_files.py) and its users agree on extensions, case and recursion."""
import os

import pytest

from sapiens2.image_files import IMG_EXTENSIONS, list_images


@pytest.fixture
def tree(tmp_path):
    for name in ('b.png', 'a.JPG', 'c.tif', 'd.TIFF', 'notes.txt', 'sub/e.webp', 'sub/deeper/f.jpeg', 'sub/g.gif'):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'x')
    (tmp_path / 'h.jpg').mkdir()  # a folder named like an image is not an image
    return tmp_path


def test_folder_listing_sorted_any_case_with_and_without_recursion(tree):
    top = [str(tree / n) for n in ('a.JPG', 'b.png', 'c.tif', 'd.TIFF')]
    assert list_images(str(tree)) == top
    deep = top + [str(tree / 'sub' / 'deeper' / 'f.jpeg'), str(tree / 'sub' / 'e.webp')]
    assert list_images(str(tree), recursive=True) == deep
    assert list_images(str(tree), extensions=('.png', )) == [str(tree / 'b.png')]
    assert set(IMG_EXTENSIONS) == {'.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'}


def test_single_files_and_errors_name_the_path(tree):
    assert list_images(str(tree / 'c.tif')) == [str(tree / 'c.tif')]
    with pytest.raises(ValueError, match=r'--input .*notes\.txt: not an image'):
        list_images(str(tree / 'notes.txt'))
    with pytest.raises(FileNotFoundError, match='neither an image nor a folder'):
        list_images(str(tree / 'missing'))
    os.makedirs(tree / 'empty')
    with pytest.raises(FileNotFoundError, match=r'--images .*empty: no images'):
        list_images(str(tree / 'empty'), arg='--images')


def test_users_list_the_same_images(tree):
    from sapiens2.apis.feature_analysis import list_images as probe_images
    from sapiens2.datasets import ImageFolderDataset
    from sapiens2.utils.media import FrameSource
    recursive = list_images(str(tree), recursive=True)
    assert probe_images(str(tree)) == recursive
    dataset = ImageFolderDataset(data_root=str(tree))
    assert [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))] == recursive
    assert FrameSource(str(tree)).files == list_images(str(tree))
    with pytest.raises(ValueError, match='nor a video'):
        FrameSource(str(tree / 'notes.txt'))
    with pytest.raises(FileNotFoundError, match='neither an image, a video nor a folder'):
        FrameSource(str(tree / 'missing.mp4'))
