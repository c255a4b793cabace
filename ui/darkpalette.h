#pragma once
// darkPalette(): the colours of segscale-studio --dark, for desktops that do not pass
// their dark theme on to Qt (no platform theme) and for checking the views in the dark.
// Views take every colour from the palette, so this is the only place colours are named.

#include <QPalette>

namespace SegScale::Ui {

QPalette darkPalette();

} // namespace SegScale::Ui
