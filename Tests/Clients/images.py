"""Images for the media tests, made and measured by Pillow (an independent reader).

  images.py make <folder>     writes rotated.jpg (64x32 pixels stored, EXIF orientation 6:
                              shown 32x64), photo.jpg (3000x2000), alpha.png (300x300 with
                              transparency), noise.jpg (1600x1200 of noise, about 1 MB)
  images.py size <file>       prints "<format> <width> <height> <exif orientation or 1>"
"""
import sys

from PIL import Image

command, path = sys.argv[1:3]
if command == "make":
    rotated = Image.new("RGB", (64, 32), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated.save(path + "/rotated.jpg", exif=exif.tobytes())
    Image.new("RGB", (3000, 2000), (20, 120, 200)).save(path + "/photo.jpg", quality=80)
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(path + "/alpha.png")
    Image.effect_noise((1600, 1200), 80).convert("RGB").save(path + "/noise.jpg", quality=95)
else:
    with Image.open(path) as image:
        print(image.format, image.width, image.height, image.getexif().get(0x0112, 1))
