"""Recordings in and out: the bag reader (rosbag2 and ROS 1, through rosbags), the bag writer,
video files (probed in a child process) and the offline runner (``videorag run``)."""
