// The target of tests/layers_fixture/src/ops/upward.cpp's include.
#pragma once
