/* Every test and child mode of the runner. CMake reads the TEST(...) and
 * TEST_POSIX(...) lines to register one ctest entry per test, so keep one
 * entry per line.
 *
 * TEST_POSIX marks a test of something that exists only on POSIX, with the
 * reason beside it; TEST_WIN one of something that exists only on Windows;
 * TEST_FAULT one that exists only in a build with SHMKIT_FAULT_INJECTION
 * (tests/test-fault.c); TEST runs on every platform. A contract every
 * platform keeps by its own means is one TEST, marked "per platform",
 * with one implementation in each platform's file: a name means the same
 * promise wherever it runs. */
TEST(error_names)
TEST(error_texts_not_only_regions)
TEST(error_text_not_inherited)
TEST(region_create_sizes)
TEST(region_bad_arguments)
TEST(region_sparse_over_4g)
TEST(region_close_keeps_views)
TEST(view_any_offset)
TEST(view_range_errors)
TEST(view_many_at_once)
TEST(view_length_zero_to_end)
TEST(freeze_hands_out_unwritable_copy)
TEST(view_readonly_faults)
TEST(named_create_open_remove)
TEST(named_bad_names)
TEST(named_no_leftover_on_failure)
TEST(named_two_processes)
TEST(named_global)
TEST(leak_cycles)
TEST(token_format)
TEST(token_rejects_lies)
TEST(token_from_env)
TEST(spawn_inherits_exactly)
TEST(spawn_token_argv)
TEST(spawn_token_env)
TEST(spawn_readonly_token)
TEST(spawn_lying_tokens)
TEST(spawn_errors)
TEST(spawn_argv_roundtrip)
TEST(spawn_environment)
TEST(spawn_cwd_and_path)
TEST(process_wait_kill)
TEST(process_exit_status)
TEST(process_crash_not_success)
TEST(process_wait_any_order)
TEST(process_wait_any_limits)
TEST(process_handle_pollable)
TEST(spawn_leak_cycles)
TEST(conn_pair_messages)
TEST(conn_listen_connect)
TEST(conn_two_processes)
TEST(conn_inherited_pair)
TEST(conn_token_checks)
TEST(channel_send_recv)
TEST(channel_bad_arguments)
TEST(channel_wrap_every_offset)
TEST(channel_large_copies)
TEST(channel_copy_around)
TEST(channel_full_and_empty)
TEST(channel_sleeping_sender_woken)
TEST(channel_recv_waits_past_padding)
TEST(channel_spin_default)
TEST(channel_arm_keeps_peeked)
TEST(channel_receiver_closes)
TEST(channel_handle_ready)
TEST(channel_proc_checksum)
TEST(channel_proc_from_env)
TEST(channel_proc_by_name)
TEST(channel_proc_sender_killed)
TEST(channel_proc_receiver_killed)
TEST(channel_proc_killed_midstream)
TEST(channel_proc_peer_closes)
TEST_POSIX(channel_proc_handle) /* poll(2); Windows: channel_handle_ready */
TEST(channel_attach_checks)
TEST(channel_hostile_records)
TEST(channel_hostile_scribbler)
TEST(channel_threads)
TEST(conn_peer_killed)
TEST(conn_receiver_killed)
TEST(conn_sender_closes_at_once)
TEST(conn_sender_killed)
TEST(conn_pull)
TEST(conn_end_handed_on)
TEST(conn_two_threads)
TEST(conn_pair_close_race)
TEST(conn_endpoint_names_apart)
TEST(msg_init_close_reuse)
TEST(conn_connect_waits_for_listener)
TEST(conn_connect_nobody_listens)
TEST(frame_decode_count_max)
TEST(named_native_interop) /* per platform: plain shm_open, CreateFileMapping */
TEST(adopt_checks_handle)  /* per platform: descriptors, HANDLEs */
TEST(adopt_ownership)      /* per platform: descriptor, inheritance flags */
TEST(conn_hostile_frames)  /* per platform: SCM_RIGHTS, handle values */
TEST(leak_failures)        /* per platform: pipes as non-shm handles */
TEST(protocol_frame_from_doc)
TEST(protocol_newer_version)
TEST(protocol_garbage_is_not_a_version)
TEST(protocol_token_from_doc)
TEST(soak_region_cycles)
TEST(soak_conn_cycles)
TEST(soak_peer_killed)
TEST(soak_receiver_killed)
TEST_WIN(spawn_batch_arguments_win)      /* cmd.exe's own parsing */
TEST_WIN(adopt_refuses_alias_win)        /* HANDLE values' ignored low bits */
TEST_WIN(readonly_no_upgrade)            /* DuplicateHandle, section DACLs */
TEST_WIN(region_both_size_halves)        /* CreateFileMapping's two halves */
TEST_WIN(named_other_object_win)         /* a mutex holding a section's name */
TEST_WIN(adopt_classic_readonly_win)     /* raw FILE_MAP_READ duplicates */
TEST_WIN(adopt_classic_dup_readonly_win) /* same, section DACLs */
TEST_WIN(spawn_command_line_limit_win)   /* CreateProcessW's 32,767 */
TEST_WIN(conn_push_to_receiver_that_cannot_pull_win) /* process DACLs */
TEST_WIN(conn_flight_bounded_win)             /* handles kept for the peer */
TEST_WIN(conn_recv_deadline_flood_win)        /* raw pipe control messages */
TEST_WIN(conn_recv_deadline_huge_win)         /* raw pipe messages */
TEST_WIN(conn_ack_queue_bounded_win)          /* raw pipe messages */
TEST_WIN(conn_acks_after_taking_win)          /* handles kept for the peer */
TEST_WIN(conn_push_to_sandboxed_child_win)    /* process DACLs */
TEST_WIN(conn_push_refused_from_stranger_win) /* process DACLs */
TEST_WIN(conn_send_timeout_keeps_nothing_win) /* handles kept for the peer */
TEST_WIN(adopt_refuses_reserved_win)       /* CreateFileMapping(SEC_RESERVE) */
TEST_WIN(conn_squatted_pipe_win)           /* a raw CreateNamedPipeW squatter */
TEST_WIN(listen_squatted_pipe_win)         /* same, FIRST_PIPE_INSTANCE */
TEST_WIN(listen_old_global_lock_win)       /* a mutex in Global\ */
TEST_WIN(listen_after_killed_listener_win) /* TerminateProcess */
TEST_WIN(conn_integrity_check_win)         /* integrity levels of tokens */
TEST_WIN(spawn_argv0_win)                  /* the program name's own parsing */
TEST_WIN(spawn_environment_block_win)      /* names ignore case, sorted block */
TEST_WIN(spawn_inherits_only_listed_win)   /* the child's handle table */
TEST_WIN(conn_listener_handle_moves_win)   /* pipe instances, not readiness */
TEST_POSIX(region_reserve_enospc)          /* tmpfs limits, statvfs */
TEST_POSIX(region_reserve_enomem)          /* the memfd mount, sysinfo */
TEST_POSIX(named_mode_0600)                /* file modes in /dev/shm */
TEST_POSIX(region_anonymous_no_name)       /* the portable path's /dev/shm */
TEST_POSIX(named_open_unsized)             /* plain shm_open, ftruncate */
TEST_POSIX(named_mode_umask)               /* umask, file modes */
TEST_POSIX(named_open_refuses_others)      /* setuid, objects in /dev/shm */
TEST_POSIX(named_open_refuses_wide_mode)   /* fchmod of an shm object */
TEST_POSIX(named_open_never_blocks)        /* FIFOs in /dev/shm */
TEST_POSIX(named_open_refuses_a_mount)     /* FUSE, mount(2) */
TEST_POSIX(adopt_refuses_hugetlbfs)        /* memfd_create(MFD_HUGETLB) */
TEST_POSIX(readonly_copy)       /* raw mmap/mprotect on the descriptor */
TEST_POSIX(readonly_copy_named) /* same */
TEST_POSIX(readonly_copy_other_process)  /* same, in the child */
TEST_POSIX(readonly_copy_foreign_owner)  /* setuid, file modes */
TEST_POSIX(seal_size)                    /* memfd seals, ftruncate */
TEST_POSIX(seal_size_read_again)         /* memfd seals, ftruncate */
TEST_POSIX(seal_write)                   /* memfd seals, write(2) */
TEST_POSIX(seal_future_write)            /* memfd seals, /proc reopening */
TEST_POSIX(seal_readonly_holder)         /* memfd seals, fcntl */
TEST_POSIX(seal_refuses_rw_claim)        /* memfd seals, hand-made tokens */
TEST_POSIX(conn_other_user)              /* setuid to another user */
TEST_POSIX(conn_overflow_uid)            /* user namespaces, setuid */
TEST_POSIX(conn_peer_half_closed)        /* shutdown(SHUT_WR) */
TEST_POSIX(conn_empty_then_message)      /* raw empty datagrams */
TEST_POSIX(conn_accept_deadline)         /* setuid, user namespaces */
TEST_POSIX(conn_recv_out_of_descriptors) /* setrlimit(RLIMIT_NOFILE) */
TEST_POSIX(conn_send_too_many_in_flight) /* SCM_RIGHTS accounting */
TEST_POSIX(conn_region_not_a_file)       /* FIFOs, sockets as descriptors */
TEST_POSIX(conn_region_on_fuse)          /* a FUSE file system by hand */
TEST_POSIX(conn_handle_poll)             /* poll(2) on the sockets */
TEST_FAULT(fault_region_create) /* SHMKIT_FAULT_INJECTION builds, both */
TEST_FAULT(fault_region_named)  /* backends: src/posix/sys.h, src/win/sys.h */
TEST_FAULT(fault_region_use)
TEST_FAULT(fault_spawn)
TEST_FAULT(fault_conn_messages)
TEST_FAULT(fault_conn_endpoints)
TEST_FAULT(fault_channel)
TEST_POSIX(spawn_signals_default) /* signal dispositions, /proc/self/status */
TEST_POSIX(spawn_e2big)           /* ARG_MAX */
TEST_POSIX(channel_arm_no_lost_wakeup)          /* poll(2) */
TEST_POSIX(channel_shrunk_region_refused)       /* ftruncate, memfd seals */
TEST_POSIX(channel_link_garbage_breaks)         /* raw bytes on the socket */
TEST_POSIX(channel_woken_sleeper_sees_end)      /* futex(2), shutdown(2) */
TEST_POSIX(channel_link_flood_bounded)          /* raw bytes on the socket */
TEST_POSIX(channel_futex_denied_sleeps_on_link) /* seccomp(2) */
TEST_POSIX(channel_wake_denied_sleeps_on_link)  /* seccomp(2) */
TEST_POSIX(channel_peer_cannot_wake) /* Windows sleeps on its link always */

CHILD(frozen_receiver)
CHILD(named_peer)
CHILD(list_handles)
CHILD(token_peer)
CHILD(readonly_token_peer)
CHILD(expect_token_errors)
CHILD(env_report)
CHILD(argv_check)
CHILD(cwd_report)
CHILD(sleep)
CHILD(exit_with)
CHILD(die)
CHILD(crash)
CHILD(wait_flag)
CHILD(exact_handles)
CHILD(write_readonly_view)
CHILD_POSIX(readonly_peer)
CHILD_POSIX(foreign_copy)
CHILD(conn_client)
CHILD(conn_worker)
CHILD(flood_peer)
CHILD(send_and_close)
CHILD(send_and_wait)
CHILD(pull_source)
CHILD(echo_peer)
CHILD(soak_sender)
CHILD(soak_receiver)
CHILD(late_listener)
CHILD(scribbling_sender)
CHILD(scribbling_receiver)
CHILD_POSIX(hostile_peer)
CHILD_WIN(hostile_pipe_peer)
CHILD_WIN(classic_readonly_peer)
CHILD_WIN(long_arg_check)
CHILD_WIN(push_sender)
CHILD_WIN(raw_reader)
CHILD_WIN(hello_flooder)
CHILD_WIN(huge_writer)
CHILD_WIN(ack_hoarder)
CHILD_WIN(echo_all)
CHILD_WIN(sandboxed_receiver)
CHILD_WIN(forged_pusher)
CHILD_WIN(idle_peer)
CHILD_WIN(pipe_squatter)
CHILD_WIN(endpoint_holder)
CHILD_WIN(argv0_check)
CHILD_WIN(env_block_report)
CHILD_WIN(held_handles)
CHILD_POSIX(stranger_connects)
CHILD_POSIX(stranger_squats)
CHILD_POSIX(stranger_plants)
CHILD_POSIX(signals_report)
CHILD_POSIX(refusing_listener)
CHILD_POSIX(overflow_connector)
CHILD_POSIX(half_close_peer)
CHILD_POSIX(empty_between)
CHILD_POSIX(flood_connect)
CHILD_POSIX(inflight_sender)
CHILD_POSIX(odd_files_peer)
CHILD_POSIX(fuse_peer)
CHILD(channel_peer)
