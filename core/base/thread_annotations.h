// Clang's thread-safety analysis (-Wthread-safety): which lock guards which
// field, and which lock a function needs. The clang build in the test
// command checks them (tools/test.sh); other compilers ignore them.
#ifndef NPZFS_CORE_BASE_THREAD_ANNOTATIONS_H_
#define NPZFS_CORE_BASE_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define NPZFS_TSA(x) __attribute__((x))
#else
#define NPZFS_TSA(x)
#endif

#define CAPABILITY(x) NPZFS_TSA(capability(x))
#define SCOPED_CAPABILITY NPZFS_TSA(scoped_lockable)
#define GUARDED_BY(x) NPZFS_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) NPZFS_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) NPZFS_TSA(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) NPZFS_TSA(acquired_after(__VA_ARGS__))
#define REQUIRES(...) NPZFS_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) NPZFS_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) NPZFS_TSA(release_capability(__VA_ARGS__))
#define EXCLUDES(...) NPZFS_TSA(locks_excluded(__VA_ARGS__))
#define RETURN_CAPABILITY(x) NPZFS_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS NPZFS_TSA(no_thread_safety_analysis)

#endif  // NPZFS_CORE_BASE_THREAD_ANNOTATIONS_H_
