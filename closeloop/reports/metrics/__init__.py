"""reports/metrics"""
