// Training machinery (train.h, datasets.h, the training hooks of Model and
// Graph): AdamW, the schedule and clipping against hand computations; the
// summed gradient of a tied parameter against finite differences; tiny
// CNN, BiLSTM and BERT models learning a toy task; checkpoints that load
// back to the same logits; and the data readers with their errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "check_util.h"
#include "tiny_models.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"
#include "wordlight/word_vectors.h"

using namespace wordlight;

namespace {

std::string temp_dir(const std::string& name) {
  const std::string d = "/tmp/wordlight_test_train_" + std::to_string(::getpid()) + "/" + name;
  make_directories(d);
  return d;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

const char* kCnnConfig = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2], "num_labels": 2, "max_length": 16})";
const char* kBiLstmConfig = R"({"model_type": "wordlight-bilstm", "vocab_size": 12, "embedding_dim": 8,
  "hidden_size": 6, "num_labels": 2, "max_length": 16})";
const char* kBertConfig = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 2})";

std::unique_ptr<Model> fresh_model(const char* json, uint64_t seed) {
  const ModelConfig cfg = parse_model_config(json, "test config");
  return make_model(cfg, random_checkpoint(cfg, seed));
}

// Texts of 3..7 tokens from ids 2..11 (1 = a leading "[CLS]"-like token);
// label 1 iff token 5 occurs. Half the texts get a 5.
EncodedSet toy_task(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  EncodedSet set;
  for (size_t i = 0; i < n; ++i) {
    const size_t len = 3 + rng() % 5;
    std::vector<int32_t> ids{1};
    for (size_t t = 1; t < len; ++t) {
      int32_t id = static_cast<int32_t>(2 + rng() % 10);
      if (id == 5) id = 6;
      ids.push_back(id);
    }
    const bool pos = i % 2 == 0;
    if (pos) ids[1 + rng() % (len - 1)] = 5;
    set.ids.push_back(ids);
    set.labels.push_back(pos ? 1 : 0);
  }
  return set;
}

std::vector<float> logits_of(const Model& m, const TokenBatch& batch, Backend be) {
  Graph<float> g(be);
  std::vector<float> emb(static_cast<size_t>(batch.B) * batch.T * m.embedding_dim());
  m.embed(batch, emb.data());
  Var x = g.input(Shape{batch.B, batch.T, m.embedding_dim()}, emb.data(), false);
  Var y = m.forward(g, x, batch);
  return std::vector<float>(g.value(y), g.value(y) + g.numel(y));
}

TokenBatch toy_batch() {
  const EncodedSet s = toy_task(6, 3);
  std::vector<size_t> order{0, 1, 2, 3, 4, 5};
  return make_batch(s, order, 0, 6, 0);
}

}  // namespace

// ------------------------------------------------------------------ optimiser pieces

TEST(TrainAdamW, TwoStepsMatchHandComputation) {
  // lr 0.1, wd 0.01: with a constant gradient the bias-corrected update is
  // exactly sign(g) (up to eps), so p1 = p0 (1 - lr wd) - lr sign(g).
  AdamWOptions o;
  o.weight_decay = 0.01;
  std::vector<float> p{1.f, -2.f}, g{0.5f, -0.1f}, m(2, 0.f), v(2, 0.f);
  adamw_update(2, p.data(), g.data(), m.data(), v.data(), 1, 0.1, o, true);
  EXPECT_NEAR(p[0], 1.0 * 0.999 - 0.1, 1e-6);
  EXPECT_NEAR(p[1], -2.0 * 0.999 + 0.1, 1e-6);
  EXPECT_NEAR(m[0], 0.05, 1e-7);
  EXPECT_NEAR(v[0], 0.00025, 1e-9);
  adamw_update(2, p.data(), g.data(), m.data(), v.data(), 2, 0.1, o, true);
  EXPECT_NEAR(p[0], 0.899 * 0.999 - 0.1, 1e-6);
  EXPECT_NEAR(m[0], 0.095, 1e-7);
  EXPECT_NEAR(v[0], 0.00049975, 1e-9);
  // Without decay the weight is not shrunk; a changing gradient: step 2 of
  // g = 0.5 then -0.5 has m_hat = (0.045 - 0.05) / 0.19, v_hat = 0.25.
  std::vector<float> q{1.f}, m1{0.f}, v1{0.f};
  float g1 = 0.5f, g2 = -0.5f;
  adamw_update(1, q.data(), &g1, m1.data(), v1.data(), 1, 0.1, o, false);
  EXPECT_NEAR(q[0], 0.9, 1e-6);
  adamw_update(1, q.data(), &g2, m1.data(), v1.data(), 2, 0.1, o, false);
  const double mhat = (0.9 * 0.05 - 0.05) / 0.19, vhat = 0.25;
  EXPECT_NEAR(q[0], 0.9 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8), 1e-6);
  EXPECT_ERROR_CONTAINS(adamw_update(1, q.data(), &g1, m1.data(), v1.data(), 0, 0.1, o, false), "count from 1");
}

TEST(TrainAdamW, NoDecayOnBiasesAndLayerNorm) {
  EXPECT_TRUE(default_weight_decay("bert.encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(default_weight_decay("embeddings.weight"));
  EXPECT_FALSE(default_weight_decay("classifier.bias"));
  EXPECT_FALSE(default_weight_decay("bert.embeddings.LayerNorm.weight"));
  EXPECT_FALSE(default_weight_decay("lm_head.layer_norm.weight"));
}

TEST(TrainSchedule, LinearWarmupThenDecay) {
  EXPECT_DOUBLE_EQ(linear_schedule(0, 10, 110, 1.0), 0.1);
  EXPECT_DOUBLE_EQ(linear_schedule(4, 10, 110, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(linear_schedule(9, 10, 110, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(linear_schedule(10, 10, 110, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(linear_schedule(60, 10, 110, 2.0), 1.0);
  EXPECT_DOUBLE_EQ(linear_schedule(109, 10, 110, 1.0), 0.01);
  EXPECT_DOUBLE_EQ(linear_schedule(110, 10, 110, 1.0), 0.0);
  EXPECT_DOUBLE_EQ(linear_schedule(0, 0, 4, 1.0), 1.0);  // no warm-up
}

TEST(TrainClip, GlobalNormAcrossBuffers) {
  std::vector<float> a{3.f, 0.f}, b{4.f};
  std::vector<float*> gs{a.data(), b.data()};
  EXPECT_DOUBLE_EQ(clip_grad_norm(gs, {2, 1}, 10.0), 5.0);
  EXPECT_EQ(a[0], 3.f);  // under the limit: untouched
  EXPECT_DOUBLE_EQ(clip_grad_norm(gs, {2, 1}, 1.0), 5.0);
  EXPECT_NEAR(a[0], 0.6, 1e-6);
  EXPECT_NEAR(b[0], 0.8, 1e-6);
  EXPECT_NEAR(clip_grad_norm(gs, {2, 1}, 0.0), 1.0, 1e-6);  // 0: report only
}

TEST(TrainClassWeights, Balanced) {
  const std::vector<float> w = balanced_class_weights({0, 0, 0, 1}, 3);
  EXPECT_NEAR(w[0], 4.0 / 9.0, 1e-6);
  EXPECT_NEAR(w[1], 4.0 / 3.0, 1e-6);
  EXPECT_EQ(w[2], 1.f);  // absent class
  EXPECT_ERROR_CONTAINS(balanced_class_weights({0, 3}, 2), "label 3 of example 1");
}

TEST(TrainShuffle, DeterministicPermutation) {
  const std::vector<size_t> a = shuffled_order(50, 7), b = shuffled_order(50, 7), c = shuffled_order(50, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], i);
}

// ------------------------------------------------------------------ graph and model hooks

TEST(TrainShuffle, BucketingKeepsEveryExampleAndGroupsLengths) {
  const size_t n = 1000;
  std::vector<size_t> lengths(n);
  std::mt19937_64 rng(3);
  for (auto& l : lengths) l = 1 + rng() % 100;
  const std::vector<size_t> order = shuffled_order(n, 5);
  const std::vector<size_t> b = bucketed_order(order, lengths, 10, 20, 9);
  std::vector<size_t> sorted = b;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_EQ(b, bucketed_order(order, lengths, 10, 20, 9));
  // Padding: the sum over batches of (longest - each), far below plain shuffling's.
  auto padding = [&](const std::vector<size_t>& o) {
    size_t pad = 0;
    for (size_t s = 0; s < n; s += 10) {
      size_t longest = 0;
      for (size_t k = s; k < s + 10; ++k) longest = std::max(longest, lengths[o[k]]);
      for (size_t k = s; k < s + 10; ++k) pad += longest - lengths[o[k]];
    }
    return pad;
  };
  EXPECT_LT(padding(b) * 5, padding(order));
  // The batches themselves come in a shuffled order, not sorted by length.
  EXPECT_FALSE(std::is_sorted(b.begin(), b.end(), [&](size_t x, size_t y) { return lengths[x] < lengths[y]; }));
  EXPECT_EQ(bucketed_order(order, lengths, 10, 1, 9), order);
}

TEST(TrainGraph, TiedParameterGradientIsSummedOverUses) {
  // W (V, D) is an embedding table, the tied decoder, and (row 1) a bias:
  // the gradient the optimiser needs is the sum over all three uses.
  const int V = 5, D = 3;
  std::vector<double> W = wltest::random_vec(V * D, 21);
  const std::vector<int32_t> ids{0, 3, 1, 3};
  const std::vector<int32_t> labels{2, 4, 0, 1};
  auto loss_at = [&](std::vector<double>& w, std::vector<double>* grad) {
    Graph<double> g(Backend::reference);
    g.params_require_grad = true;
    Var table = g.parameter(Shape{V, D}, w.data());
    Var h = g.tanh(g.add(g.embedding(table, ids.data(), Shape{4}), g.parameter(Shape{D}, w.data() + D)));
    Var logits = g.linear(h, g.parameter(Shape{V, D}, w.data()));
    Var loss = g.cross_entropy(logits, labels.data());
    if (grad) {
      g.backward(loss);
      grad->assign(w.size(), 0.0);
      EXPECT_TRUE(g.accumulate_parameter_grad(w.data(), static_cast<int64_t>(w.size()), grad->data()));
    }
    return g.value(loss)[0];
  };
  std::vector<double> grad;
  loss_at(W, &grad);
  for (size_t i = 0; i < W.size(); ++i) {
    std::vector<double> wp = W, wm = W;
    wp[i] += 1e-6;
    wm[i] -= 1e-6;
    EXPECT_NEAR(grad[i], (loss_at(wp, nullptr) - loss_at(wm, nullptr)) / 2e-6, 1e-7) << "entry " << i;
  }
}

TEST(TrainModel, ParametersMatchTheCheckpointLayout) {
  const char* configs[] = {
      kCnnConfig, kBiLstmConfig, kBertConfig,
      R"({"architectures": ["DistilBertForSequenceClassification"], "model_type": "distilbert", "vocab_size": 12,
          "dim": 8, "n_layers": 1, "n_heads": 2, "hidden_dim": 16, "max_position_embeddings": 16})",
      R"({"architectures": ["RobertaForMaskedLM"], "model_type": "roberta", "vocab_size": 12, "hidden_size": 8,
          "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 18})",
      R"({"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 12, "hidden_size": 8,
          "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 18})"};
  for (const char* json : configs) {
    const ModelConfig cfg = parse_model_config(json, "test config");
    const SafetensorsFile st = random_checkpoint(cfg, 5);
    auto model = make_model(cfg, st);
    const std::vector<ModelParameter> ps = model->parameters();
    ASSERT_EQ(ps.size(), st.names.size()) << cfg.architecture;
    bool has_word = false;
    for (size_t i = 0; i < ps.size(); ++i) {
      EXPECT_EQ(ps[i].name, st.names[i]) << cfg.architecture;
      EXPECT_EQ(ps[i].shape, st.get(ps[i].name).shape) << ps[i].name;
      EXPECT_EQ(std::vector<float>(ps[i].data, ps[i].data + ps[i].numel()), st.get(ps[i].name).values) << ps[i].name;
      has_word = has_word || ps[i].name == model->word_embedding_name();
    }
    EXPECT_TRUE(has_word) << cfg.architecture;
    // Written and read back, the checkpoint builds the same model.
    const std::vector<uint8_t> bytes = write_safetensors(checkpoint_tensors(*model));
    auto again = make_model(cfg, load_safetensors(bytes.data(), bytes.size(), "round trip"));
    const TokenBatch batch = toy_batch();
    EXPECT_EQ(logits_of(*model, batch, Backend::fast), logits_of(*again, batch, Backend::fast)) << cfg.architecture;
  }
  // The same seed gives the same weights; another seed others.
  const ModelConfig cfg = parse_model_config(kCnnConfig);
  EXPECT_EQ(random_checkpoint(cfg, 1).get("convs.0.weight").values, random_checkpoint(cfg, 1).get("convs.0.weight").values);
  EXPECT_NE(random_checkpoint(cfg, 1).get("convs.0.weight").values, random_checkpoint(cfg, 2).get("convs.0.weight").values);
}

TEST(TrainModel, FastPathSeesUpdatedWeights) {
  // The packed GEMM copies must follow the weights after parameters_changed().
  for (const char* json : {kCnnConfig, kBiLstmConfig, kBertConfig}) {
    auto model = fresh_model(json, 9);
    const TokenBatch batch = toy_batch();
    const std::vector<float> before = logits_of(*model, batch, Backend::fast);
    for (ModelParameter& p : model->parameters())
      for (int64_t i = 0; i < p.numel(); ++i) p.data[i] += 0.05f * static_cast<float>(std::sin(double(i)));
    model->parameters_changed();
    const std::vector<float> fast = logits_of(*model, batch, Backend::fast);
    const std::vector<float> ref = logits_of(*model, batch, Backend::reference);
    EXPECT_TRUE(wltest::all_close(fast, ref, 1e-4, 1e-5)) << json;
    EXPECT_FALSE(wltest::all_close(fast, before, 1e-3, 1e-4)) << json;
  }
}

TEST(TrainModel, DropoutOnlyWhileTrainingAndSeeded) {
  const char* json = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8, "num_filters": 6,
    "kernel_size": [1, 2], "num_labels": 2, "dropout": 0.5})";
  auto model = fresh_model(json, 4);
  EXPECT_FLOAT_EQ(model->config().dropout, 0.5f);
  const TokenBatch batch = toy_batch();
  auto run = [&](bool training, uint64_t seed) {
    Graph<float> g;
    g.training = training;
    g.set_dropout_seed(seed);
    std::vector<float> emb(static_cast<size_t>(batch.B) * batch.T * 8);
    model->embed(batch, emb.data());
    Var y = model->forward(g, g.input(Shape{batch.B, batch.T, 8}, emb.data()), batch);
    return std::vector<float>(g.value(y), g.value(y) + g.numel(y));
  };
  EXPECT_EQ(run(false, 1), run(false, 2));
  EXPECT_EQ(run(true, 1), run(true, 1));
  EXPECT_NE(run(true, 1), run(true, 2));
  EXPECT_NE(run(true, 1), run(false, 1));
  EXPECT_ERROR_CONTAINS(parse_model_config(R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
    "num_filters": 6, "kernel_size": 2, "dropout": 1.5})"), "dropout");
}

// ------------------------------------------------------------------ learning

namespace {

void expect_learns(const char* json, double lr, int epochs) {
  auto model = fresh_model(json, 11);
  const EncodedSet train = toy_task(96, 1), dev = toy_task(64, 2);
  const double acc0 = evaluate_accuracy(*model, dev, 32);
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 16;
  o.lr = lr;
  o.warmup = 0.1;
  o.seed = 3;
  std::vector<double> losses;
  TrainCallbacks cb;
  int steps = 0;
  cb.on_step = [&](const TrainProgress& p) {
    ++steps;
    EXPECT_FALSE(format_progress(p).empty());
  };
  const TrainResult r = train_classifier(*model, train, &dev, o, cb);
  EXPECT_EQ(steps, 6 * static_cast<int>(r.epochs.size()));
  const double first = r.epochs.front().train_loss, last = r.epochs.back().train_loss;
  EXPECT_LT(last, 0.6 * first) << json << ": loss " << first << " -> " << last;
  const double acc = evaluate_accuracy(*model, dev, 32);
  EXPECT_GE(acc, 0.85) << json << ": accuracy " << acc0 << " -> " << acc;
  EXPECT_GT(acc, acc0);
  EXPECT_DOUBLE_EQ(acc, r.best_dev_accuracy);  // the best epoch's weights are kept
}

}  // namespace

TEST(TrainLoop, TinyCnnLearnsToyTask) { expect_learns(kCnnConfig, 0.05, 8); }
TEST(TrainLoop, TinyBiLstmLearnsToyTask) { expect_learns(kBiLstmConfig, 0.05, 8); }
TEST(TrainLoop, TinyBertLearnsToyTask) { expect_learns(kBertConfig, 0.01, 8); }

TEST(TrainLoop, DeterministicAndEarlyStopping) {
  const EncodedSet train = toy_task(48, 1), dev = toy_task(32, 2);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 8;
  o.lr = 0.05;
  o.balanced_class_weights = true;
  auto a = fresh_model(kCnnConfig, 2), b = fresh_model(kCnnConfig, 2);
  const TrainResult ra = train_classifier(*a, train, &dev, o), rb = train_classifier(*b, train, &dev, o);
  ASSERT_EQ(ra.epochs.size(), rb.epochs.size());
  for (size_t e = 0; e < ra.epochs.size(); ++e) EXPECT_EQ(ra.epochs[e].train_loss, rb.epochs[e].train_loss);
  // A learning rate of ~0 never improves after epoch 1: patience 1 stops at 2.
  o.lr = 1e-12;
  o.epochs = 5;
  o.patience = 1;
  auto c = fresh_model(kCnnConfig, 2);
  const TrainResult rc = train_classifier(*c, train, &dev, o);
  EXPECT_TRUE(rc.stopped_early);
  EXPECT_EQ(rc.epochs.size(), 2u);
  EXPECT_EQ(rc.best_epoch, 1);
  EncodedSet bad = train;
  bad.labels[3] = 7;
  EXPECT_ERROR_CONTAINS(train_classifier(*c, bad, nullptr, o), "label 7 of example 3");
}

TEST(TrainCheckpoint, SaveThenLoadGivesSameLogits) {
  auto model = fresh_model(kCnnConfig, 6);
  const EncodedSet train = toy_task(32, 1);
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 8;
  train_classifier(*model, train, nullptr, o);
  // The vocabulary the toy config was made for, copied with the weights.
  const std::string vocab_dir = temp_dir("ckpt_vocab");
  write_text(vocab_dir + "/vocab.txt", wltest::kTinyWordVocab);
  const std::string dir32 = temp_dir("ckpt32"), dir16 = temp_dir("ckpt16");
  save_checkpoint(*model, kCnnConfig, {"neg", "pos"}, vocab_dir, dir32, false);
  save_checkpoint(*model, kCnnConfig, {}, vocab_dir, dir16, true);
  const TokenBatch batch = toy_batch();
  const std::vector<float> want = logits_of(*model, batch, Backend::fast);
  const LoadedModel m32 = load_model_directory(dir32);
  EXPECT_EQ(logits_of(*m32.model, batch, Backend::fast), want);
  EXPECT_EQ(m32.model->config().id2label, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(m32.tokenizer->encode("the film is good").ids, (std::vector<int32_t>{2, 3, 4, 5}));
  const LoadedModel m16 = load_model_directory(dir16);
  EXPECT_TRUE(wltest::all_close(logits_of(*m16.model, batch, Backend::fast), want, 1e-2, 1e-2));
  EXPECT_EQ(load_safetensors_file(dir16 + "/model.safetensors").get("classifier.weight").stored_dtype, DType::F16);
  std::ifstream vocab(dir32 + "/vocab.txt");
  EXPECT_TRUE(vocab.good());
}

// ------------------------------------------------------------------ data readers

TEST(TrainData, SstLinesTsvJsonl) {
  const std::string d = temp_dir("data");
  write_text(d + "/stsa.txt", "1 a great film\r\n0 dull , dull , dull\n\n");
  TextDataset s = read_data_spec("sst2:" + d + "/stsa.txt");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.texts[0], "a great film");
  EXPECT_EQ(s.labels[1], "0");
  write_text(d + "/bad.txt", "1 fine\npositive not a label\n");
  EXPECT_ERROR_CONTAINS(read_sst_lines(d + "/bad.txt"), "bad.txt:2: expected 'label sentence'");

  write_text(d + "/x.tsv", "sentence\tlabel\nhello there\t1\nbye\t0\n");
  s = read_data_spec("sst2:" + d + "/x.tsv");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.texts[1], "bye");
  write_text(d + "/bad.tsv", "sentence\tlabel\nok\t1\ntoo\tmany\tfields\n");
  EXPECT_ERROR_CONTAINS(read_tsv(d + "/bad.tsv"), "bad.tsv:3: has 3 tab-separated fields");
  write_text(d + "/nohead.tsv", "words\tclass\n");
  EXPECT_ERROR_CONTAINS(read_tsv(d + "/nohead.tsv"), "nohead.tsv:1:");

  write_text(d + "/x.jsonl", "{\"text\": \"good\", \"label\": \"pos\"}\n\n{\"text\": \"bad\", \"label\": 0}\n");
  s = read_data_spec("jsonl:" + d + "/x.jsonl");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.labels[0], "pos");
  EXPECT_EQ(s.labels[1], "0");
  write_text(d + "/bad.jsonl", "{\"text\": \"good\", \"label\": 1}\n{\"text\": 3, \"label\": 1}\n");
  EXPECT_ERROR_CONTAINS(read_jsonl(d + "/bad.jsonl"), "bad.jsonl:2: \"text\"");
  write_text(d + "/bad2.jsonl", "\n\n{\"text\": \"x\", \"label\": 1\n");
  EXPECT_ERROR_CONTAINS(read_jsonl(d + "/bad2.jsonl"), "bad2.jsonl:3: not valid JSON");
  EXPECT_ERROR_CONTAINS(read_data_spec("csv:" + d + "/x.jsonl"), "unknown kind 'csv'");
  // A comma-separated list reads one set after the other.
  s = read_data_spec("jsonl:" + d + "/x.jsonl,jsonl:" + d + "/x.jsonl");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s.texts[2], "good");
  EXPECT_ERROR_CONTAINS(read_data_spec("jsonl:" + d + "/x.jsonl,"), "empty entry");
  EXPECT_ERROR_CONTAINS(read_data_spec(d + "/missing.txt"), "KIND:PATH");
}

// AG News as in ../shared/data/agnews: "text<TAB>label", no header; the
// entity remains read as the characters ("AT amp;T" is "AT&T"), words
// that merely end in "amp;" or "lt;" left alone.
TEST(TrainData, AgNewsLinesAndTheirEntityRemains) {
  const std::string d = temp_dir("agnews");
  write_text(d + "/ag.tsv",
             "It #39;s over: AT amp;T pays  #36;5 for  quot;wireless quot; in 2004\\\\Read more.\tSci/Tech\n\n"
             "Stocks rose &lt;b&gt;sharply&lt;/b&gt; at the camp; salt; #151; said one\tBusiness\n");
  TextDataset s = read_data_spec("agnews:" + d + "/ag.tsv");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.texts[0], "It's over: AT&T pays  $5 for  \"wireless \" in 2004 Read more.");
  EXPECT_EQ(s.labels[0], "Sci/Tech");
  EXPECT_EQ(s.texts[1], "Stocks rose <b>sharply</b> at the camp; salt; - said one");
  EXPECT_EQ(s.labels[1], "Business");
  write_text(d + "/bad.tsv", "a text\tWorld\nno label here\n");
  EXPECT_ERROR_CONTAINS(read_data_spec("agnews:" + d + "/bad.tsv"), "bad.tsv:2: expected 'text<TAB>label'");
  write_text(d + "/empty.tsv", "a text\t\n");
  EXPECT_ERROR_CONTAINS(read_agnews(d + "/empty.tsv"), "empty.tsv:1: the label is empty");
  // A fixed slice of any spec: its first N examples.
  s = read_data_spec("agnews:" + d + "/ag.tsv@first=1");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.labels[0], "Sci/Tech");
  EXPECT_EQ(read_data_spec("agnews:" + d + "/ag.tsv@first=2,agnews:" + d + "/ag.tsv@first=1").size(), 3u);
  EXPECT_ERROR_CONTAINS(read_data_spec("agnews:" + d + "/ag.tsv@first=3"), "has 2");
  EXPECT_ERROR_CONTAINS(read_data_spec("agnews:" + d + "/ag.tsv@first=0"), "positive whole number");
  EXPECT_ERROR_CONTAINS(read_data_spec("agnews:" + d + "/ag.tsv@first=x"), "positive whole number");
}

TEST(TrainData, ClassDirectoriesAndHeaders) {
  const std::string root = temp_dir("news");
  make_directories(root + "/sci.space");
  make_directories(root + "/alt.atheism");
  write_text(root + "/sci.space/101", "From: a@b\nSubject: orbit\n\nThe shuttle flew.\n");
  write_text(root + "/sci.space/99", "From: c@d\n\nMars.\n");
  write_text(root + "/alt.atheism/5", "no header blank line");
  write_text(root + "/alt.atheism/54473-o", "From: x\n\nstray\n");
  write_text(root + "/README", "not a class");
  TextDataset ng = read_data_spec("newsgroups:" + root);
  ASSERT_EQ(ng.size(), 3u);
  EXPECT_EQ(ng.labels, (std::vector<std::string>{"alt.atheism", "sci.space", "sci.space"}));
  EXPECT_EQ(ng.texts[0], "");  // no blank line: everything is header, as scikit-learn
  EXPECT_EQ(ng.texts[1], "The shuttle flew.\n");  // "101" < "99" in byte order
  EXPECT_EQ(ng.texts[2], "Mars.\n");
  TextDataset plain = read_data_spec("dir:" + root);
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_EQ(plain.texts[2], "From: a@b\nSubject: orbit\n\nThe shuttle flew.\n");
  EXPECT_ERROR_CONTAINS(read_class_dirs(root + "/sci.space", NewsHeaders::keep), "no class folder");

  // Labels: names the model does not know become the label names.
  ModelConfig cfg = parse_model_config(kCnnConfig);
  const std::vector<std::string> names = choose_label_names(ng, cfg);
  EXPECT_EQ(names, (std::vector<std::string>{"alt.atheism", "sci.space"}));
  EXPECT_EQ(label_ids(ng, names), (std::vector<int32_t>{0, 1, 1}));

  // The copy in ../shared/data has each post on one line, its line breaks
  // as tabs: the blank line after the header is then two tabs.
  const std::string tabs = temp_dir("news_tabs");
  make_directories(tabs + "/talk.x");
  write_text(tabs + "/talk.x/7", "From: e@f\tSubject: x\t\tBody one.\tBody two.\t\n");
  write_text(tabs + "/talk.x/8", "From: e@f\n\nBody\t\tthree.\n");
  TextDataset tn = read_data_spec("newsgroups:" + tabs);
  ASSERT_EQ(tn.size(), 2u);
  EXPECT_EQ(tn.texts[0], "Body one.\tBody two.\t\n");
  EXPECT_EQ(tn.texts[1], "Body\t\tthree.\n");
  // newsgroups-subject keeps the Subject line's value before the body.
  TextDataset ts = read_data_spec("newsgroups-subject:" + tabs);
  EXPECT_EQ(ts.texts[0], "x\n\nBody one.\tBody two.\t\n");
  EXPECT_EQ(ts.texts[1], "Body\t\tthree.\n");  // no Subject line
  TextDataset ss = read_data_spec("newsgroups-subject:" + root);
  EXPECT_EQ(ss.texts[1], "orbit\n\nThe shuttle flew.\n");
  TextDataset sst;
  sst.source = "sst";
  sst.texts = {"a", "b"};
  sst.labels = {"1", "0"};
  EXPECT_EQ(choose_label_names(sst, cfg), cfg.id2label);  // integer labels index the model's
  EXPECT_EQ(label_ids(sst, cfg.id2label), (std::vector<int32_t>{1, 0}));
  sst.labels = {"1", "2"};
  EXPECT_ERROR_CONTAINS(label_ids(sst, cfg.id2label), "example 2 has label '2'");
  cfg.num_labels = 3;
  EXPECT_ERROR_CONTAINS(choose_label_names(ng, cfg), "has 2 classes");
}

// ------------------------------------------------------------------ vocabulary building and word vectors

TEST(TrainVocab, WordLevelFormsSplitLikeTheTokenizerButKeepCompounds) {
  EXPECT_EQ(word_level_forms("It's a well-made (film), isn't it?"),
            (std::vector<std::string>{"it", "'s", "a", "well-made", "-lrb-", "film", "-rrb-", ",", "is", "n't", "it",
                                      "?"}));
  EXPECT_EQ(word_level_forms("\"Quoted\""), (std::vector<std::string>{"``", "quoted", "''"}));
  EXPECT_EQ(word_level_forms("Keep Case", false), (std::vector<std::string>{"Keep", "Case"}));
  EXPECT_TRUE(word_level_forms("  \t\n").empty());
}

TEST(TrainVocab, WinkJsonAndGloveTextVectors) {
  const std::string d = temp_dir("vectors");
  // The wink layout: 2 dimensions, then the L2 norm and an index per word.
  write_text(d + "/v.json",
             "{\"precision\": 8, \"dimensions\": 2, \"words\": [\"a\"], \"vectors\": {\"the\": [0.5, -1, 1.118, 0],"
             " \"\\\"\": [1e-2, 2, 2.0, 1], \"caf\\u00e9\": [3, 4, 5, 2], \"skip\": [9, 9, 12.7, 3]},"
             " \"unkVector\": [0, 0, -1]}");
  const std::unordered_set<std::string> wanted{"the", "\"", "caf\xc3\xa9", "absent"};
  WordVectors wv = load_word_vectors(d + "/v.json", &wanted);
  EXPECT_EQ(wv.dim, 2);
  ASSERT_EQ(wv.vectors.size(), 3u);
  EXPECT_EQ(wv.vectors.at("the"), (std::vector<float>{0.5f, -1.f}));
  EXPECT_EQ(wv.vectors.at("\""), (std::vector<float>{0.01f, 2.f}));
  EXPECT_EQ(wv.vectors.at("caf\xc3\xa9"), (std::vector<float>{3.f, 4.f}));
  EXPECT_EQ(load_word_vectors(d + "/v.json").vectors.size(), 4u);

  write_text(d + "/g.txt", "the 0.5 -1\ncat 1 2\n");
  wv = load_word_vectors(d + "/g.txt");
  EXPECT_EQ(wv.dim, 2);
  EXPECT_EQ(wv.vectors.at("cat"), (std::vector<float>{1.f, 2.f}));

  write_text(d + "/short.json", "{\"dimensions\": 3, \"vectors\": {\"a\": [1, 2]}}");
  EXPECT_ERROR_CONTAINS(load_word_vectors(d + "/short.json"), "fewer than 3 dimensions");
  write_text(d + "/cut.json", "{\"dimensions\": 2, \"vectors\": {\"a\": [1, 2");
  EXPECT_ERROR_CONTAINS(load_word_vectors(d + "/cut.json"), "cut.json: byte");
  write_text(d + "/ragged.txt", "a 1 2\nb 1\n");
  EXPECT_ERROR_CONTAINS(load_word_vectors(d + "/ragged.txt"), "ragged.txt:2: 'b' has 1 values");
  write_text(d + "/nan.txt", "a 1 x\n");
  EXPECT_ERROR_CONTAINS(load_word_vectors(d + "/nan.txt"), "nan.txt:1: 'a': a value is not a number");
  EXPECT_ERROR_CONTAINS(load_word_vectors(d + "/none.txt"), "none.txt: cannot open");
}
