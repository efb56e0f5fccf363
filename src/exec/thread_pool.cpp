#include "exec/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace symgrad::detail {

namespace {

class Pool {
public:
    ~Pool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (auto& worker : workers_) worker.join();
    }

    void run(std::size_t count, std::size_t threads, const std::function<void(std::size_t)>& task) {
        // One job at a time: a second caller (another thread running a Program) waits for the pool.
        std::lock_guard job_lock(job_mutex_);
        {
            std::unique_lock lock(mutex_);
            // A thread the system cannot start (a limit on processes or address space) is one fewer helper,
            // not a failure: the job runs on the threads there are.
            while (workers_.size() + 1 < threads) {
                try {
                    workers_.emplace_back([this] { work(); });
                } catch (const std::system_error&) {
                    break;
                }
            }
            task_ = &task;
            count_ = count;
            next_.store(0);
            helpers_ = std::min({threads - 1, count - 1, workers_.size()});
            active_ = helpers_;
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        take_tasks();
        std::unique_lock lock(mutex_);
        done_.wait(lock, [this] { return active_ == 0; });
        task_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void take_tasks() {
        for (std::size_t i = next_.fetch_add(1); i < count_; i = next_.fetch_add(1)) {
            try {
                (*task_)(i);
            } catch (...) {
                std::lock_guard lock(mutex_);
                if (!error_) error_ = std::current_exception();
            }
        }
    }

    void work() {
        std::uint64_t seen = 0;
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || (generation_ != seen && helpers_ > 0); });
            if (stopping_) return;
            seen = generation_;
            --helpers_;
            lock.unlock();
            take_tasks();
            lock.lock();
            if (--active_ == 0) done_.notify_one();
        }
    }

    std::mutex job_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::vector<std::thread> workers_;
    const std::function<void(std::size_t)>* task_ = nullptr;
    std::size_t count_ = 0;
    std::atomic<std::size_t> next_{0};
    std::size_t helpers_ = 0;  // workers still to join the current job
    std::size_t active_ = 0;  // workers that joined (or will) and have not finished
    std::uint64_t generation_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
};

Pool& pool() {
    static Pool instance;
    return instance;
}

}  // namespace

std::size_t hardware_threads() {
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 1024);  // symgrad::max_threads
}

void parallel_for(std::size_t count, std::size_t threads, const std::function<void(std::size_t)>& task) {
    if (count == 0) return;
    if (threads <= 1 || count == 1) {
        for (std::size_t i = 0; i < count; ++i) task(i);
        return;
    }
    pool().run(count, threads, task);
}

}  // namespace symgrad::detail
