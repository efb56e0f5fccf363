#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;

TEST_CASE("shapes count elements, print, and refuse negative dimensions", "[tensor]") {
    CHECK(Shape{}.numel() == 1);
    CHECK(Shape{5, 4}.numel() == 20);
    CHECK(Shape{3, 0}.numel() == 0);
    CHECK(to_string(Shape{5, 4}) == "[5, 4]");
    CHECK(fmt::format("{}", Shape{}) == "[]");
    CHECK(Shape{2, 3, 4}.strides() == std::vector<std::int64_t>{12, 4, 1});
    CHECK(message_of([] { Shape{3, -1}; }).find("negative") != std::string::npos);
    CHECK(message_of([] { Shape{1 << 30, 1 << 30, 1 << 30}; }).find("too many elements") != std::string::npos);
}

TEST_CASE("broadcasting follows NumPy and names both shapes when it fails", "[tensor]") {
    CHECK(broadcast_shapes({5, 4}, {4}) == Shape{5, 4});
    CHECK(broadcast_shapes({5, 1}, {1, 4}) == Shape{5, 4});
    CHECK(broadcast_shapes({}, {2, 3}) == Shape{2, 3});
    CHECK(broadcast_shapes({2, 1, 3}, {4, 1}) == Shape{2, 4, 3});
    CHECK(broadcast_shapes({0}, {1}) == Shape{0});
    CHECK(message_of([] { broadcast_shapes({5, 4}, {3}); }) == "cannot broadcast [5, 4] with [3]");
    CHECK_THROWS_AS(broadcast_shapes({2, 3}, {3, 2}), ShapeError);
    CHECK(broadcastable_to({4}, {3, 4}));
    CHECK(broadcastable_to({3, 1}, {2, 3, 4}));
    CHECK_FALSE(broadcastable_to({3}, {3, 4}));
    CHECK_FALSE(broadcastable_to({2, 3, 4}, {3, 4}));
}

TEST_CASE("tensors are created from values, fills and seeds", "[tensor]") {
    const Tensor t = Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.dtype() == DType::float64);
    CHECK(t.at({1, 2}) == 6);
    CHECK(t.get(4) == 5);
    CHECK(Tensor::scalar(2.5).item() == 2.5);
    CHECK(Tensor::full({2}, 7.0, DType::float32).to_vector() == std::vector<double>{7, 7});
    CHECK(Tensor::zeros({3}).to_vector() == std::vector<double>{0, 0, 0});
    CHECK(Tensor::ones({2}, DType::float32).dtype() == DType::float32);
    CHECK(Tensor::empty({1000, 3}, DType::float32).shape() == Shape{1000, 3});
    CHECK(message_of([] { Tensor::from_values({2, 2}, {1, 2, 3}); }) == "3 values cannot fill shape [2, 2] (4 elements)");
    CHECK(message_of([&] { t.at({2, 0}); }).find("out of bounds for shape [2, 3]") != std::string::npos);
    CHECK(message_of([&] { t.at({0}); }).find("needs 2") != std::string::npos);
    CHECK(message_of([&] { t.item(); }).find("one element") != std::string::npos);
}

TEST_CASE("random tensors are reproducible from their seed and well spread", "[tensor]") {
    const Tensor a = Tensor::uniform({1000}, -1, 1, 42);
    const Tensor b = Tensor::uniform({1000}, -1, 1, 42);
    const Tensor c = Tensor::uniform({1000}, -1, 1, 43);
    CHECK(a.identical(b));
    CHECK_FALSE(a.identical(c));
    double lo = 1;
    double hi = -1;
    for (auto v : a.to_vector()) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    CHECK(lo >= -1);
    CHECK(hi < 1);
    CHECK(hi - lo > 1.9);
    // A fixed value: the generator is our own, so this holds on every platform.
    CHECK(Tensor::uniform({1}, 0, 1, 0).get(0) == Approx(0.8833108082136426).epsilon(1e-15));
    const Tensor n = Tensor::normal({20000}, 1.0, 2.0, 7);
    double mean = 0;
    for (auto v : n.to_vector()) mean += v / 20000;
    double var = 0;
    for (auto v : n.to_vector()) var += (v - mean) * (v - mean) / 20000;
    CHECK(mean == Approx(1.0).margin(0.05));
    CHECK(std::sqrt(var) == Approx(2.0).margin(0.05));
}

TEST_CASE("copies share storage; clone, reshape and astype behave", "[tensor]") {
    Tensor a = Tensor::from_values({2, 2}, {1, 2, 3, 4});
    Tensor shared = a;
    shared.set(0, 10);
    CHECK(a.get(0) == 10);
    Tensor copy = a.clone();
    copy.set(0, 1);
    CHECK(a.get(0) == 10);
    const Tensor r = a.reshape({4});
    CHECK(r.same_storage(a));
    CHECK(message_of([&] { a.reshape({3}); }) == "cannot reshape [2, 2] (4 elements) to [3] (3 elements)");
    const Tensor f = a.astype(DType::float32);
    CHECK(f.dtype() == DType::float32);
    CHECK(f.get(3) == 4);
    CHECK_THROWS_AS(f.data<double>(), DTypeError);
    CHECK(f.data<float>()[1] == 2.0f);
    CHECK(Tensor::scalar(0.1, DType::float32).get(0) == static_cast<double>(0.1f));
}

TEST_CASE("tensors print like NumPy, elided when large", "[tensor]") {
    CHECK(to_string(Tensor::scalar(1.5)) == "1.5");
    CHECK(to_string(Tensor::from_values({3}, {1, 2.5, -3})) == "[1, 2.5, -3]");
    CHECK(fmt::format("{}", Tensor::from_values({2, 2}, {1, 2, 3, 4})) == "[[1, 2],\n [3, 4]]");
    CHECK(to_string(Tensor::from_values({2, 1, 2}, {1, 2, 3, 4})) == "[[[1, 2]],\n\n [[3, 4]]]");
    CHECK(to_string(Tensor::scalar(0.1, DType::float32)) == "0.1");
    CHECK(to_string(Tensor::zeros({0})) == "[]");
    std::vector<double> many(2000);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<double>(i);
    CHECK(to_string(Tensor::from_values({2000}, many)) == "[0, 1, 2, ..., 1997, 1998, 1999]");
    const std::string grid = to_string(Tensor::from_values({40, 50}, many));
    CHECK(grid.starts_with("[[0, 1, 2, ..., 47, 48, 49],\n [50, 51, 52, ..., 97, 98, 99],\n [100,"));
    CHECK(grid.find(" ...,\n [1850,") != std::string::npos);
    CHECK(grid.ends_with("1997, 1998, 1999]]"));
}

TEST_CASE("strided walks visit broadcast operands in step", "[tensor]") {
    const Shape out{2, 3};
    StridedWalk walk(out, {broadcast_strides({3}, out), broadcast_strides({2, 1}, out)});
    std::vector<std::int64_t> a;
    std::vector<std::int64_t> b;
    for (int i = 0; i < 6; ++i, walk.next()) {
        a.push_back(walk.offset(0));
        b.push_back(walk.offset(1));
    }
    CHECK(a == std::vector<std::int64_t>{0, 1, 2, 0, 1, 2});
    CHECK(b == std::vector<std::int64_t>{0, 0, 0, 1, 1, 1});
    CHECK(normalize_axis(-1, 3) == 2);
    CHECK(message_of([] { normalize_axis(3, 3); }) == "axis 3 is out of range for rank 3");
}
