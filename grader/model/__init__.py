"""The grader's data model: diagnosis codes and statuses, student values, results and their JSON."""
